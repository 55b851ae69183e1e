"""Benchmark of `emotion-nbdev demo-models --audio-data ROOT [--jobs N]` (the audio model) at CREMA-D's size.

CREMA-D (7,442 clips, 91 speakers, 6 emotions, 16 kHz WAV, mean about 2.5 s) is not here, so the benchmark
builds CREMA-D-named trees from the embedded synthetic clips and scales up, saying which numbers are which:
- tree A: the 180 embedded clips without surprise (mean about 1.2 s), written again for `--speakers` speaker
  ids (180 clips per 10 speakers), each copy with its own seeded -80 dBFS dither so no two files are equal;
- tree B: the same clips, each tiled (repeated) to exactly 2.5 s, CREMA-D's mean duration.
Steps, in the order `_train_audio` runs them and with the same functions:
- `index_audio` + `extract_features`, each run in a fresh Python process as the command is (so each pays its
  own first-call and worker start-up costs): cold (a fresh cache folder per run) with jobs 1 and jobs 2 on both
  trees, each at a quarter of the speakers and at all of them; the difference gives the cost per added clip and
  the fixed cost of a run, and CREMA-D's figure is fixed + per-clip x 7,442 (tree B: CREMA-D's mean duration);
  then warm (tree B's cache again, a fresh process);
- `train_audio_model(frame, grid='report', cv='speaker', folds=5, jobs=N)` measured directly at 7,442 rows x 175
  features with 91 speaker groups: tree B's measured feature rows tiled with small seeded noise (5% of each
  feature's std) and new speaker ids. Its search and its evaluation + refit are reported apart. The synthetic
  classes separate perfectly, which makes many fits run to max_iter; so the search is timed twice: with half the
  rows' labels redrawn at random (seeded; classes that overlap, search AUC near 0.75) and with the labels as generated.
Usage: python bench/bench_real_path.py [--speakers 20] [--search-jobs 1 2] [--separable-jobs 2] [--markdown bench/RESULTS_real_path.md]
"""
import os
for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(v, '1')
os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
import argparse, datetime, json, platform, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np
import pandas as pd
import soundfile as sf

CREMA_CLIPS, CREMA_SPEAKERS, CREMA_MEAN_S = 7442, 91, 2.5
CREMA_CODES = {'anger': 'ANG', 'disgust': 'DIS', 'fear': 'FEA', 'happiness': 'HAP', 'neutral': 'NEU', 'sadness': 'SAD'}
SENTENCES = ['IEO', 'TIE', 'IOM']
SR = 16000

def crema_tree(root:Path, speakers:int, seconds:float|None, seed:int=0)->Path:
    "The embedded clips (no surprise) under CREMA-D's names for `speakers` speaker ids; `seconds`: tile each clip to that length."
    from emotion_nbdev.audio_data import load_synthetic_speech
    m = load_synthetic_speech().manifest
    m = m[m.emotion.isin(list(CREMA_CODES))]
    base_spk, sents = sorted(m.speaker.unique()), sorted(m.sentence.unique())
    rng = np.random.default_rng(seed)
    (root/'AudioWAV').mkdir(parents=True)
    clips = {r.path: sf.read(r.path, dtype='float32')[0] for r in m.itertuples()}
    for copy in range(-(-speakers // len(base_spk))):
        for r in m.itertuples():
            spk = copy*len(base_spk) + base_spk.index(r.speaker)
            if spk >= speakers: continue
            y = clips[r.path]
            if seconds: y = np.resize(y, int(round(seconds*SR)))  # repeat the clip up to `seconds`
            y = np.clip(y + rng.normal(0, 1e-4, len(y)).astype(np.float32), -1, 1)  # -80 dBFS dither: every file differs
            name = f"{1001 + spk}_{SENTENCES[sents.index(r.sentence)]}_{CREMA_CODES[r.emotion]}_XX.wav"
            sf.write(root/'AudioWAV'/name, y, SR, subtype='PCM_16')
    return root

def timed(f, *a, **k):
    t0 = time.perf_counter(); out = f(*a, **k)
    return out, time.perf_counter() - t0

def crema_sized_frame(frame:pd.DataFrame, rows:int=CREMA_CLIPS, speakers:int=CREMA_SPEAKERS, seed:int=0)->pd.DataFrame:
    "Measured feature rows tiled to `rows` rows with 5%-of-std seeded noise, regrouped into `speakers` new speaker ids."
    from emotion_nbdev.features import FEATURE_NAMES
    reps = -(-rows // len(frame))
    spk_index = {s: i for i, s in enumerate(sorted(frame['speaker'].unique()))}
    n_spk = len(spk_index)
    parts = []
    for k in range(reps):
        p = frame.copy()
        p['speaker'] = [str(1001 + (k*n_spk + spk_index[s]) % speakers) for s in frame['speaker']]
        p['source'] = p['clip_id'] = [f'{c}#{k}' for c in frame['clip_id']]
        parts.append(p)
    big = pd.concat(parts, ignore_index=True).iloc[:rows].reset_index(drop=True)
    X = big[FEATURE_NAMES].to_numpy(float, copy=True)
    X += np.random.default_rng(seed).normal(0, 1, X.shape) * 0.05 * frame[FEATURE_NAMES].to_numpy(float).std(0)
    big[FEATURE_NAMES] = X
    big.attrs = frame.attrs
    return big

def extract_once(root:str, speakers:int, jobs:int, cache:str, out:str):
    "One step as `_train_audio` runs it, in this (fresh) process: index the tree, keep `speakers` speakers, extract; times to `out`."
    from emotion_nbdev.audio_data import index_audio
    from emotion_nbdev.features import extract_features
    (found, index_s) = timed(index_audio, [root])
    m = found.manifest
    assert len(found.skipped) == 0 and set(m['dataset']) == {'crema-d'}, found.skipped.counts()
    m = m[m['speaker'].astype(int) < 1001 + speakers].reset_index(drop=True)
    tab = extract_features(m, jobs=jobs, cache=cache, progress=False)
    assert len(tab.skipped) == 0, tab
    tab.frame.to_pickle(out + '.pkl')
    Path(out).write_text(json.dumps(dict(index_s=index_s, indexed=len(found.manifest), clips=len(m), seconds=tab.stats['seconds'],
                                         hits=tab.stats['cache_hits'], mean_s=float(m['duration'].mean()), load=os.getloadavg()[0])))

def run_step(tmp:Path, tree:str, speakers:int, jobs:int, cache:str, name:str)->dict:
    "`extract_once` in a fresh Python process; its times and its feature frame."
    out = str(tmp/f'run-{name}.json')
    subprocess.run([sys.executable, __file__, '--extract', str(tmp/tree/'CREMA-D'), str(speakers), str(jobs), str(tmp/f'cache-{cache}'), out], check=True)
    return dict(json.loads(Path(out).read_text()), tree=tree, jobs=jobs, frame=pd.read_pickle(out + '.pkl'))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--speakers', type=int, default=20, help='speaker ids in each tree (18 clips each; default 20: 360 clips)')
    ap.add_argument('--search-jobs', type=int, nargs='+', default=[1, 2], help='jobs for the search at CREMA-D size, half the labels redrawn (default: 1 2)')
    ap.add_argument('--separable-jobs', type=int, nargs='*', default=[2], help='jobs for the search at CREMA-D size, labels as generated (default: 2)')
    ap.add_argument('--markdown', help='write the results here')
    ap.add_argument('--extract', nargs=5, help=argparse.SUPPRESS)  # internal: one timed step in a fresh process
    a = ap.parse_args()
    if a.extract:
        root, spk, jobs, cache, out = a.extract
        return extract_once(root, int(spk), int(jobs), cache, out)
    load0, started = os.getloadavg(), datetime.datetime.now(datetime.timezone.utc)
    here = Path(__file__).resolve().parent.parent
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=here, capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(['git', 'status', '--porcelain', '--', 'emotion_nbdev'], cwd=here, capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ['EMOTION_CACHE_DIR'] = str(tmp/'cache')  # nothing read from an earlier cache, in this process or the steps'
        from emotion_nbdev.audio_model import train_audio_model, speaker_groups
        from emotion_nbdev.features import FEATURE_NAMES
        for t, sec in (('A', None), ('B', CREMA_MEAN_S)): crema_tree(tmp/t/'CREMA-D', a.speakers, sec)
        small, runs = a.speakers // 4, {}
        for t in ('A', 'B'):
            for jobs in (1, 2):
                for spk in (small, a.speakers):
                    runs[t, jobs, spk] = r = run_step(tmp, t, spk, jobs, f'{t}{jobs}{spk}', f'cold-{t}{jobs}{spk}')
                    assert r['hits'] == 0 and r['indexed'] == a.speakers*18, r
        warm = run_step(tmp, 'B', a.speakers, 1, f'B1{a.speakers}', 'warm')
        cold = runs['B', 1, a.speakers]
        assert warm['hits'] == len(warm['frame']) and np.array_equal(warm['frame'][FEATURE_NAMES].to_numpy(), cold['frame'][FEATURE_NAMES].to_numpy())
        same = bool(np.allclose(runs['B', 2, a.speakers]['frame'][FEATURE_NAMES].to_numpy(), cold['frame'][FEATURE_NAMES].to_numpy()))
        big = crema_sized_frame(cold['frame'], CREMA_CLIPS, CREMA_SPEAKERS)
        groups = len(set(speaker_groups(big)))
        assert len(big) == CREMA_CLIPS and groups == CREMA_SPEAKERS
        rng = np.random.default_rng(0)
        redraw = rng.random(len(big)) < 0.5
        mixed = big.copy()
        mixed.loc[redraw, 'emotion'] = rng.choice(sorted(big['emotion'].unique()), redraw.sum())
        import emotion_nbdev.audio_model as am
        searched, plain_search = [], am.search_audio_model
        am.search_audio_model = lambda *x, **k: searched.append(plain_search(*x, **k)) or searched[-1]  # keeps each search's results (passes per fit)
        search = {}
        for labels, frame, jobs_list in (('half the labels redrawn', mixed, a.search_jobs), ('labels as generated', big, a.separable_jobs)):
            for jobs in jobs_list:
                load = os.getloadavg()[0]
                (model, report), s = timed(train_audio_model, frame, grid='report', cv='speaker', folds=5, jobs=jobs)
                res = searched[-1].results
                search[labels, jobs] = dict(total=s, search=report['search_seconds'], report=report, load=load,
                                            passes=float(res['mean_n_iter'].mean()), converged=float(res['converged'].mean()))
        am.search_audio_model = plain_search
    load1 = os.getloadavg()
    n = a.speakers*18
    fit = {}
    for t in ('A', 'B'):
        for jobs in (1, 2):
            lo, hi = runs[t, jobs, small], runs[t, jobs, a.speakers]
            per = (hi['seconds'] - lo['seconds']) / (hi['clips'] - lo['clips'])
            fit[t, jobs] = dict(per=per, fixed=hi['seconds'] - per*hi['clips'], mean_s=hi['mean_s'])
    idx_per = np.mean([r['index_s'] / r['indexed'] for r in runs.values()])
    rows = [('index_audio (per file: name parsed, header read)', f'the {n}-clip trees, {len(runs)} runs: {idx_per*1000:.2f} ms/clip', idx_per*n, idx_per*CREMA_CLIPS, 'linear in clips', np.mean([r['load'] for r in runs.values()]))]
    for (t, jobs), f in fit.items():
        lo, hi = runs[t, jobs, small], runs[t, jobs, a.speakers]
        on = f"tree {t} ({'mean %.2f s' % hi['mean_s'] if t == 'A' else '%.1f s each' % CREMA_MEAN_S}): {lo['clips']} clips {lo['seconds']:.1f} s, {hi['clips']} clips; {f['per']*1000:.0f} ms per added clip + {f['fixed']:.1f} s fixed"
        avg = hi['seconds'] / hi['clips']
        scaled, how = (None, "not scaled: shorter clips than CREMA-D's (see tree B)") if t == 'A' else (
            (f['fixed'] + f['per']*CREMA_CLIPS, avg*CREMA_CLIPS), f"low: fixed + per added clip x 7,442; high: {avg*1000:.0f} ms per clip (the {hi['clips']}-clip run's average, start-up included) x 7,442")
        rows.append((f'extract_features cold, jobs {jobs}', on, hi['seconds'], scaled, how, hi['load']))
    warm_per = warm['seconds'] / len(warm['frame'])
    rows.append(('extract_features warm (all cached), jobs 1', f'tree B, {n} clips: {warm_per*1000:.1f} ms/clip', warm['seconds'], warm_per*CREMA_CLIPS, 'linear in clips', warm['load']))
    for (labels, jobs), s in search.items():
        on = f"{CREMA_CLIPS:,} rows x 175, {groups} speakers, {labels} (search AUC {s['report']['search_score']['value']:.3f})"
        rows.append((f'train_audio_model: search (report grid, 5 speaker folds), jobs {jobs}', on, s['search'], s['search'], 'measured at CREMA-D size', s['load']))
        rows.append((f'train_audio_model: evaluation + refit, jobs {jobs}', on, s['total'] - s['search'], s['total'] - s['search'], 'measured at CREMA-D size', s['load']))
    hi_per = {j: runs['B', j, a.speakers]['seconds'] / runs['B', j, a.speakers]['clips'] for j in (1, 2)}
    totals = {(l, j): (idx_per*CREMA_CLIPS + fit['B', j]['fixed'] + fit['B', j]['per']*CREMA_CLIPS + s['total'], idx_per*CREMA_CLIPS + hi_per[j]*CREMA_CLIPS + s['total'])
              for (l, j), s in search.items() if j in (1, 2)}
    warm_totals = {(l, j): idx_per*CREMA_CLIPS + warm_per*CREMA_CLIPS + s['total'] for (l, j), s in search.items()}
    shared = max(load0[0], load1[0]) > 1
    slope = {j: (fit['B', j]['per'] - fit['A', j]['per']) / (fit['B', j]['mean_s'] - fit['A', j]['mean_s']) for j in (1, 2)}
    lines = ['# `demo-models --audio-data` at CREMA-D size', '',
             f"Command: `python bench/bench_real_path.py{'' if a.speakers == 20 else ' --speakers %d' % a.speakers}"
             f"{'' if a.search_jobs == [1, 2] else ' --search-jobs ' + ' '.join(map(str, a.search_jobs))}"
             f"{'' if a.separable_jobs == [2] else ' ' + ' '.join(['--separable-jobs', *map(str, a.separable_jobs)])}"
             f"{' --markdown ' + a.markdown if a.markdown else ''}` (one run), code at commit {commit}"
             f"{' with uncommitted changes in emotion_nbdev/' if dirty else ''}. "
             f'Date: {started:%Y-%m-%d %H:%M} UTC. Machine: {platform.machine()}, {os.cpu_count()} cores, one BLAS thread per process. '
             f'Load average (1 min) {load0[0]:.1f} at the start and {load1[0]:.1f} at the end' +
             (': the machine was shared with other work during the run, so every time here is longer than on an idle machine, '
              'and jobs 2 had less than two free cores.' if shared else '.'), '',
             f'Data: synthetic speech (the embedded corpus without surprise) written as a CREMA-D-named tree of {n} WAV clips at 16 kHz over '
             f'{a.speakers} speaker ids (each copy with its own -80 dBFS dither), twice: tree A at the clips\' own length '
             f"(mean {runs['A', 1, a.speakers]['mean_s']:.2f} s) and tree B with each clip repeated to {CREMA_MEAN_S} s, CREMA-D's mean. "
             'Each index + extraction ran in a fresh Python process with a fresh cache folder, as the command does; the WAV files had just been '
             'written, so they were read from memory, not disk. '
             f'CREMA-D size: {CREMA_CLIPS:,} clips, {CREMA_SPEAKERS} speakers, 6 emotions.', '',
             '| step | measured on | seconds measured | seconds at CREMA-D size | how | load (1 min) at start |', '|---|---|---|---|---|---|']
    for step, on, s, scaled, how, load in rows:
        sc = '' if scaled is None else (f'{scaled[0]:.0f} to {scaled[1]:.0f}' if isinstance(scaled, tuple) else f'{scaled:.0f}')
        lines.append(f"| {step} | {on} | {s:.1f} | {sc} | {how} | {load:.1f} |")
    lines += ['',
              f"Feature cost per added clip against duration (tree A, mean {fit['A', 1]['mean_s']:.2f} s, to tree B, {CREMA_MEAN_S} s): "
              f"jobs 1 {fit['A', 1]['per']*1000:.0f} -> {fit['B', 1]['per']*1000:.0f} ms ({slope[1]*1000:+.0f} ms per second of audio), "
              f"jobs 2 {fit['A', 2]['per']*1000:.0f} -> {fit['B', 2]['per']*1000:.0f} ms ({slope[2]*1000:+.0f} ms per second). "
              "CREMA-D's clips run from 1.3 to 5 s; while the cost is linear in duration, the mean cost per clip is the cost at the mean duration, "
              'which tree B measured. The cold feature rows give two CREMA-D figures: the low one splits each run into a fixed start-up and a cost per added clip '
              'from two runs (a quarter of the speakers and all of them), which assumes both runs met the same machine load; the high one charges every clip '
              "the full run's average, start-up included, which overstates a run that pays its start-up once. "
              + ' '.join(f"Tree B, jobs {j}: high over low {hi_per[j]*CREMA_CLIPS / (fit['B', j]['fixed'] + fit['B', j]['per']*CREMA_CLIPS):.1f}x"
                         f"{' (over 2x: the split into start-up and per-clip cost is unreliable in this run)' if hi_per[j]*CREMA_CLIPS > 2*(fit['B', j]['fixed'] + fit['B', j]['per']*CREMA_CLIPS) else ''}." for j in (1, 2)) + ' '
              f"Tree B, jobs 1 over jobs 2: {fit['B', 1]['per'] / fit['B', 2]['per']:.2f} per added clip, {hi_per[1] / hi_per[2]:.2f} per clip on average over the {n}-clip runs "
              f"(above 1: jobs 2 faster); the fixed start-up of jobs 2, {fit['B', 2]['fixed']:.0f} s against {fit['B', 1]['fixed']:.0f} s, includes starting the worker processes. "
              f'Features of jobs 1 and jobs 2 equal (allclose): {same}. The warm run read all {len(warm["frame"])} vectors from the cache, and they equal the cold run\'s.', '',
              "The search and the evaluation ran at full size on tree B's measured features tiled to 7,442 rows (5%-of-std seeded noise, 91 new speaker ids); "
              'their cost depends on the rows and on the passes each fit needs, so they were not scaled. With the labels as generated the synthetic classes '
              'separate perfectly and many fits run to max_iter; with half the labels redrawn at random (seeded) the classes overlap and the fits stop earlier. '
              'Which of the two a real dataset is closer to depends on how well its classes separate; the rows show these two cases, not a bound for every dataset. '
              'Mean passes over the data per fit and share of fits stopped by the tolerance rule: ' +
              '; '.join(f"{l}, jobs {j}: {s['passes']:.0f} passes, {s['converged']:.0%} stopped by tol" for (l, j), s in search.items()) + '. '
              'Search AUCs (macro one-vs-rest, speaker-grouped folds) are on tiled synthetic data: a timing input only, not a measure of a model.', '',
              'Estimated audio step of `demo-models --audio-data CREMA-D` (index + features + search + evaluation + refit, library imports not counted): ' +
              '; '.join(f'--jobs {j}, {l}: cold cache {totals[l, j][0]/60:.1f} to {totals[l, j][1]/60:.1f} min, warm cache about {warm_totals[l, j]/60:.1f} min' for (l, j) in totals) +
              '. Measured at CREMA-D size: search, evaluation + refit; scaled from the trees: index and features.']
    text = '\n'.join(lines)
    print(text)
    if a.markdown: Path(a.markdown).write_text(text + '\n')

if __name__ == '__main__': main()
