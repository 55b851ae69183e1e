"""Benchmark of the 175-dim feature extraction: the report's code vs both tonnetz kinds of `clip_features`, same clips, one run.

Prints (and with --markdown, writes) small tables:
- by clip length (1 s, 3 s, 10 s of speech): ms per clip, signal in memory, for the report's code (one librosa call
  per feature, CQT tonnetz), `clip_features` with tonnetz='report' (the same numbers), the same function as it was
  at `--baseline` (a git revision; the previous implementation) and tonnetz='fast', each the fastest of `--repeat`
  runs, calls interleaved so that the machine's load falls on all alike; the ratio to the report's code with its
  range over the clips; and the first call at a tuning not met before (the CQT filters are built then);
- per corpus clip (load + features): synthetic speech and real speech, with one STFT + mel projection as the floor;
- clips/s of `extract_features` (default tonnetz) with 1 and 2 jobs; peak memory (psutil) for 1x, 4x, 8x the corpus;
- an extrapolation to a CREMA-D + TESS + SAVEE sized corpus (10.7k clips of 1.5-3.5 s, mean 2.5 s);
- with --app: `POST /api/audio` latency of a 3 s clip from 8 concurrent clients, on two servers started from this
  checkout with the same models, one with the features module of `--baseline`, in alternating rounds; and what one
  request's parts cost in a single process (decode, features, model and novelty check), and clip_features in 2 threads vs 2 processes.
Usage: python bench/bench_features.py [--baseline REV] [--app] [--no-batch] [--markdown bench/RESULTS_features.md]
With --app the models come from $EMOTION_MODELS_DIR (train them with `emotion-nbdev demo-models`).
"""
import os
for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(v, '1')  # one core per process
import argparse, importlib.util, io, json, platform, socket, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import numpy as np
from served import audio_requests, free_port, start_served

ROOT = Path(__file__).resolve().parents[1]

def timed(f, repeat):
    f()  # warm-up (numba JIT, filter caches)
    t = time.perf_counter()
    for _ in range(repeat): f()
    return (time.perf_counter() - t) / repeat

def features_at(rev, folder):
    "The features module as it was at git revision `rev`, imported beside today's (its own caches)."
    path = Path(folder)/'features_baseline.py'
    path.write_text(subprocess.run(['git', '-C', str(ROOT), 'show', f'{rev}:emotion_nbdev/features.py'], capture_output=True, text=True, check=True).stdout)
    spec = importlib.util.spec_from_file_location('emotion_nbdev._features_baseline', path)
    mod = importlib.util.module_from_spec(spec); sys.modules[spec.name] = mod  # its dataclasses look themselves up there
    spec.loader.exec_module(mod)
    return mod

def speech_of_length(seconds, speaker):
    "`seconds` of synthetic speech by one speaker (clips end to end) at the feature rate."
    from emotion_nbdev.audio_data import load_synthetic_speech
    from emotion_nbdev.features import load_audio, FEATURE_SR
    m = load_synthetic_speech().manifest
    y = np.concatenate([load_audio(p) for p in m[m.speaker == speaker].path])
    return np.resize(y, int(seconds * FEATURE_SR)).astype(np.float32)  # np.resize repeats the speaker's clips if needed

def by_length(baseline, repeat, speakers=('V1', 'V2', 'V3')):
    from emotion_nbdev.features import clip_features, reference_features, _cqt_filters
    real = sorted(Path('/usr/share/sounds/alsa').glob('*_*.wav'))
    rows = []
    for seconds in (1, 3, 10):
        clips = {f'synthetic {s}': speech_of_length(seconds, s) for s in speakers}
        if real:
            from emotion_nbdev.features import load_audio
            clips['real (alsa-utils)'] = np.resize(np.concatenate([load_audio(p) for p in real]), int(seconds * 22050)).astype(np.float32)
        for name, y in clips.items():
            _cqt_filters.cache_clear()
            t = time.perf_counter(); clip_features(y); first = time.perf_counter() - t  # filters of this clip's tuning built here
            calls = {'code': lambda: reference_features(y), 'report': lambda: clip_features(y),
                     'baseline': lambda: baseline.clip_features(y), 'fast': lambda: clip_features(y, tonnetz='fast')}
            best, wall = {k: np.inf for k in calls}, {k: np.inf for k in calls}
            for f in calls.values(): f()  # warm-up
            for _ in range(repeat):  # interleaved: a burst of load hits every kind, not one
                for k, f in calls.items():
                    c, t = time.process_time(), time.perf_counter(); f()
                    best[k], wall[k] = min(best[k], time.process_time() - c), min(wall[k], time.perf_counter() - t)
            assert np.array_equal(clip_features(y), baseline.clip_features(y)), name  # the change kept every bit
            rows.append(dict(seconds=seconds, clip=name, first=first, **best, **{f'wall_{k}': v for k, v in wall.items()}))
    return rows

def per_clip(paths, repeat):
    import librosa
    from emotion_nbdev.features import load_audio, clip_features, reference_features, FEATURE_SR, N_FFT, HOP, _mel_basis
    rows = []
    for p in paths:
        y = load_audio(p)
        floor = lambda: np.einsum('ft,mf->mt', np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))**2, _mel_basis(FEATURE_SR, N_FFT))
        rows.append(dict(seconds=len(y)/FEATURE_SR,
                         code=timed(lambda: reference_features(librosa.load(p, sr=FEATURE_SR)[0], tonnetz='report'), repeat),
                         report=timed(lambda: clip_features(load_audio(p), tonnetz='report'), repeat),
                         fast=timed(lambda: clip_features(load_audio(p), tonnetz='fast'), repeat),
                         report_no_load=timed(lambda: clip_features(y, tonnetz='report'), repeat),
                         fast_no_load=timed(lambda: clip_features(y, tonnetz='fast'), repeat),
                         floor=timed(floor, repeat)))
    return rows

MEM_CODE = """
import sys, threading, time, os, psutil, pandas as pd
from emotion_nbdev.audio_data import load_synthetic_speech
from emotion_nbdev.features import extract_features
peak, done = [0, 0], False
def sample():  # peak RSS of this process and of all its workers together
    me = psutil.Process()
    while not done:
        try:
            kids = me.children(recursive=True)
            peak[0] = max(peak[0], me.memory_info().rss)
            peak[1] = max(peak[1], sum(k.memory_info().rss for k in kids))
        except psutil.Error: pass
        time.sleep(0.05)
threading.Thread(target=sample, daemon=True).start()
m = load_synthetic_speech().manifest
m = pd.concat([m]*int(sys.argv[1]), ignore_index=True)
m['clip_id'] = [f'{c}#{i}' for i, c in enumerate(m.clip_id)]
t = extract_features(m, jobs=int(sys.argv[2]), cache=None, progress=False)
done = True; time.sleep(0.1)
print(len(t.frame), t.stats['seconds'], peak[0], peak[1])
"""

def batch(copies, jobs):
    out = subprocess.run([sys.executable, '-c', MEM_CODE, str(copies), str(jobs)], capture_output=True, text=True, check=True).stdout.split()
    n, secs, main_b, workers_b = int(out[0]), float(out[1]), int(out[2]), int(out[3])
    return dict(clips=n, seconds=secs, clips_per_s=n/secs, peak_mb_main=main_b/2**20, peak_mb_workers=workers_b/2**20)

SERVER_CODE = """
import sys, importlib.util
if sys.argv[2]:  # the baseline: its features module stands in for today's before anything imports it
    spec = importlib.util.spec_from_file_location('emotion_nbdev.features', sys.argv[2])
    mod = importlib.util.module_from_spec(spec); sys.modules['emotion_nbdev.features'] = mod; spec.loader.exec_module(mod)
from emotion_nbdev.cli import main
sys.exit(main(['serve', '--port', sys.argv[1]]))
"""

def start_server(baseline_file=''):
    "The demo server on a free port (with the features of `baseline_file` when given); (process, url)."
    port = free_port()
    return start_served([sys.executable, '-c', SERVER_CODE, str(port), str(baseline_file)], port)

def three_second_clip():
    "A 3.0 s speech clip as a 16-bit WAV at 16 kHz (one synthetic speaker's clips end to end), as `bench/bench_app.py` sends."
    import soundfile as sf
    from emotion_nbdev.audio_data import load_synthetic_speech
    m = load_synthetic_speech().manifest
    y = np.concatenate([sf.read(p, dtype='float32')[0] for p in m[m.speaker == m.speaker.iloc[0]].path[:6]])[:3*16000]
    buf = io.BytesIO(); sf.write(buf, y, 16000, format='WAV', subtype='PCM_16'); return buf.getvalue()

def request_parts(baseline, clip, repeat):
    "Fastest of `repeat` runs of each part of one /api/audio request, in this process, with the served models."
    from emotion_nbdev.app import load_demo_models, analyse_audio
    from emotion_nbdev.audio_data import audio_info
    from emotion_nbdev.features import load_audio, clip_features
    models = load_demo_models()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d)/'clip.wav'; path.write_bytes(clip)
        y = load_audio(path); x = clip_features(y)[None]
        parts = {'header + decode + resample to 22,050 Hz': lambda: (audio_info(path), load_audio(path)),
                 "features, tonnetz='report'": lambda: clip_features(y), 'features, baseline': lambda: baseline.clip_features(y),
                 'model + calibration + novelty check': lambda: models.trust['audio'].assess(models.audio, x),
                 'whole analysis (analyse_audio)': lambda: analyse_audio(models, path)}
        return {k: 1000 * min(timed(f, 1) for _ in range(repeat)) for k, f in parts.items()}

def app_load(baseline_file, baseline, rounds=4, clients=8, per_client=10, sequential=20):
    clip = three_second_clip()
    servers = {'baseline': start_server(baseline_file), 'now': start_server()}
    lat, seq = {k: [] for k in servers}, {k: [] for k in servers}
    try:
        for _, url in servers.values(): audio_requests(url, clip, 1, 3)  # warm-up: lazy imports, filter caches
        for r in range(rounds):  # alternating order, so that drifting load falls on both
            for k in (('baseline', 'now') if r % 2 == 0 else ('now', 'baseline')):
                lat[k] += audio_requests(servers[k][1], clip, clients, per_client)
                seq[k] += audio_requests(servers[k][1], clip, 1, sequential // rounds)
    finally:
        for p, _ in servers.values(): p.terminate(); p.wait(30)
    stats = {k: dict(n=len(v), p50=np.percentile(v, 50), p95=np.percentile(v, 95), max=max(v),
                     one_p50=np.percentile(seq[k], 50), one_p95=np.percentile(seq[k], 95)) for k, v in lat.items()}
    return stats, request_parts(baseline, clip, 5)

def _features_of(y, n):
    from emotion_nbdev.features import clip_features
    for _ in range(n): clip_features(y)

def threads_vs_processes(n=40):
    "Seconds for `n` clip_features of a 3 s clip: in one thread, in two threads of one process (the server's worker pool), in two processes."
    from concurrent.futures import ProcessPoolExecutor
    y = speech_of_length(3, 'V1'); _features_of(y, 3)
    t = time.perf_counter(); _features_of(y, n); one = time.perf_counter() - t
    with ThreadPoolExecutor(2) as ex:
        t = time.perf_counter(); list(ex.map(_features_of, [y, y], [n // 2] * 2)); threads = time.perf_counter() - t
    with ProcessPoolExecutor(2) as ex:
        list(ex.map(_features_of, [y, y], [3, 3]))  # start-up and warm-up apart
        t = time.perf_counter(); list(ex.map(_features_of, [y, y], [n // 2] * 2)); procs = time.perf_counter() - t
    return dict(n=n, one=one, threads=threads, processes=procs)

def load_note(before, after):
    return (f'1-minute load average {before:.1f} at the start and {after:.1f} at the end, on {os.cpu_count()} cores'
            + (': other work shared the machine, so absolute times are inflated and vary between runs; compare within a table'
               if max(before, after) > (os.cpu_count() or 2) else ''))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--clips', type=int, default=28, help='synthetic corpus clips timed one by one (default 28: 4 per emotion)')
    ap.add_argument('--repeat', type=int, default=5, help='timed runs per clip and kind (default 5)')
    ap.add_argument('--baseline', default='1b156cc^', help="git revision of the features module to compare with (default: before the bit-exact fast path)")
    ap.add_argument('--no-batch', action='store_true', help='skip the extract_features batches and the extrapolation')
    ap.add_argument('--app', action='store_true', help='also load-test POST /api/audio against a server with the baseline features')
    ap.add_argument('--markdown', help='also write the tables to this Markdown file')
    a = ap.parse_args()
    load0 = os.getloadavg()[0]
    tmp = tempfile.TemporaryDirectory()
    baseline = features_at(a.baseline, tmp.name)
    rev = subprocess.run(['git', '-C', str(ROOT), 'rev-parse', '--short', a.baseline], capture_output=True, text=True, check=True).stdout.strip()
    lengths = by_length(baseline, a.repeat)
    lines = ['# Feature extraction benchmark', '',
             f'Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; '
             f'one thread per process. Command: `python bench/bench_features.py{" --app" if a.app else ""}{" --no-batch" if a.no_batch else ""}`. '
             f'The tables say the load they ran under.', '',
             '## By clip length', '',
             f"Per clip, the signal already in memory (22,050 Hz), the fastest of {a.repeat} runs of each, the calls interleaved, in CPU time "
             "of the process (one thread: on an idle machine this is the wall time; on a shared one it leaves out the time other work held the core; "
             "the last column gives the ratio in wall time too): "
             "the report's code (one librosa call per feature, CQT tonnetz), `clip_features` with tonnetz='report' (the same vector: "
             f"equal to the bit to the baseline's on every clip here, and within 1e-4 of the report's code in the tests), the same function at "
             f"the baseline `{rev}` (before this implementation), and tonnetz='fast'. Clips: 3 synthetic speakers "
             "(their clips end to end) and real speech (the alsa-utils recordings end to end). *First call*: the first `clip_features` "
             "at a tuning not met before, which builds that tuning's CQT filters (kept for later clips; at most 100 tunings per rate).", '',
             "| length | clips | report's code ms | 'report' ms | baseline ms | 'fast' ms | code / 'report' (range) | baseline / 'report' | first call ms (wall) | code / 'report', wall time (range) |",
             '|---|---|---|---|---|---|---|---|---|---|']
    for s in (1, 3, 10):
        rs = [r for r in lengths if r['seconds'] == s]
        m = {k: float(np.mean([r[k] for r in rs])) for k in ('code', 'report', 'baseline', 'fast', 'first')}
        ratios, walls = [r['code'] / r['report'] for r in rs], [r['wall_code'] / r['wall_report'] for r in rs]
        wall = np.mean([r['wall_code'] for r in rs]) / np.mean([r['wall_report'] for r in rs])
        lines.append(f"| {s} s | {len(rs)} | {m['code']*1e3:.1f} | {m['report']*1e3:.1f} | {m['baseline']*1e3:.1f} | {m['fast']*1e3:.1f} | "
                     f"**{m['code']/m['report']:.1f}x** ({min(ratios):.1f}-{max(ratios):.1f}) | {m['baseline']/m['report']:.1f}x | {m['first']*1e3:.0f} | "
                     f"{wall:.1f}x ({min(walls):.1f}-{max(walls):.1f}) |")
    lines += ['', f'Load: {load_note(load0, os.getloadavg()[0])}.']
    if a.app:
        load1 = os.getloadavg()[0]
        stats, parts = app_load(Path(tmp.name)/'features_baseline.py', baseline)
        lines += ['', '## The audio endpoint under load', '',
                  "`POST /api/audio` with a 3.0 s speech clip (16-bit WAV at 16 kHz, as `bench/bench_app.py` sends), on two servers "
                  "(`emotion-nbdev serve`, default limits: 2 workers) started from this checkout with the same models "
                  "($EMOTION_MODELS_DIR, from `emotion-nbdev demo-models`), one of them with the baseline's features module; "
                  "clients: httpx threads in the benchmark's process, on the same machine. 8 concurrent clients x 10 requests, "
                  "4 rounds per server in alternating order, and 5 single requests between rounds.", '',
                  '| features | requests | p50 ms (8 clients) | p95 ms (8 clients) | max ms | p50 ms (one client) | p95 ms (one client) |',
                  '|---|---|---|---|---|---|---|']
        for k, name in (('baseline', f'baseline `{rev}`'), ('now', 'this implementation')):
            s = stats[k]
            lines.append(f"| {name} | {s['n']} | {s['p50']:.0f} | **{s['p95']:.0f}** | {s['max']:.0f} | {s['one_p50']:.0f} | {s['one_p95']:.0f} |")
        lines += ['', 'What one request costs, part by part, in one process with the same models (fastest of 5 runs, ms):', '',
                  '| part | ms |', '|---|---|'] + [f'| {k} | {v:.1f} |' for k, v in parts.items()]
        tp = threads_vs_processes()
        threads, procs = tp['one'] / tp['threads'], tp['one'] / tp['processes']
        lines += ['', f"The server analyses requests on a pool of 2 threads in one Python process. {tp['n']} `clip_features` of a 3 s clip took "
                  f"{tp['one']:.2f} s in one thread, {tp['threads']:.2f} s in two threads (**{threads:.2f}x**) and "
                  f"{tp['processes']:.2f} s in two processes (**{procs:.2f}x**)"
                  + (": two threads share one interpreter lock, so with 8 clients the requests are mostly analysed one at a time, "
                     "where two processes would use both cores." if procs > threads + 0.25 else
                     ": in this run two processes were not clearly faster than two threads, so it does not show what the interpreter "
                     "lock costs (other work may have held the second core)."), '',
                  f'Load: {load_note(load1, os.getloadavg()[0])}.']
    if not a.no_batch:
        lines += batch_tables(a, load0)
    text = '\n'.join(lines)
    print(text)
    if a.markdown: Path(a.markdown).write_text(text + '\n')

def batch_tables(a, load0):
    from emotion_nbdev.audio_data import load_synthetic_speech
    m = load_synthetic_speech().manifest
    synth = list(m.groupby('emotion').head(max(1, a.clips // 7)).path)[:a.clips]
    real = sorted(str(p) for p in Path('/usr/share/sounds/alsa').glob('*_*.wav'))
    load1 = os.getloadavg()[0]
    res = {'synthetic speech (16 kHz)': per_clip(synth, 3)}
    if real: res['real speech (alsa-utils, 48 kHz)'] = per_clip(real, 3)
    runs = {(c, j): batch(c, j) for c in (1, 4, 8) for j in (1, 2)}
    lines = ['', '## Corpus clips and batches', '',
             "Per clip, load + features (`'report'` and `'fast'` are the `tonnetz=` kinds of `clip_features`; no load: the signal already in memory; mean of 3 runs):", '',
             "| clips | n | mean s | report's code ms | 'report' ms | 'fast' ms | 'report' (no load) ms | 'fast' (no load) ms | STFT+mel floor ms | code / 'report' | 'report' / 'fast' | 'fast' (no load) / floor |",
             '|---|---|---|---|---|---|---|---|---|---|---|---|']
    all_rows = []
    for name, rows in res.items():
        all_rows += rows
        mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        lines.append(f"| {name} | {len(rows)} | {mean['seconds']:.2f} | {mean['code']*1e3:.1f} | {mean['report']*1e3:.1f} | "
                     f"{mean['fast']*1e3:.1f} | {mean['report_no_load']*1e3:.1f} | {mean['fast_no_load']*1e3:.1f} | {mean['floor']*1e3:.2f} | "
                     f"{mean['code']/mean['report']:.1f}x | {mean['report']/mean['fast']:.2f}x | {mean['fast_no_load']/mean['floor']:.1f}x |")
    lines += ['', "| batch (`extract_features`, tonnetz='report', no cache, incl. start-up) | clips | seconds | clips/s | peak MB main | peak MB workers (sum) |", '|---|---|---|---|---|---|']
    for (c, j), b in runs.items():
        lines.append(f"| {c}x corpus, {j} job(s) | {b['clips']} | {b['seconds']:.1f} | {b['clips_per_s']:.1f} | {b['peak_mb_main']:.0f} | {b['peak_mb_workers']:.0f} |")
    lines += ['', "Peak memory does not grow with the corpus (1x, 4x, 8x above)."]
    # extrapolation: cost per second of audio of each kind incl. load, on the real 48 kHz clips when present
    rows = res.get('real speech (alsa-utils, 48 kHz)') or all_rows
    per_audio_s = {k: float(np.sum([r[k] for r in rows]) / np.sum([r['seconds'] for r in rows])) for k in ('report', 'fast')}
    scaling = min(runs[8, 2]['clips_per_s'] / runs[8, 1]['clips_per_s'], 2.0)  # end-to-end 2-job speed-up at 8x; 2 jobs cannot beat 2x
    corpus_s = 10_700 * 2.5
    big = runs[8, 2]
    e2e = corpus_s / (big['clips_per_s'] * np.mean([r['seconds'] for r in res['synthetic speech (16 kHz)']]))
    lines += ['', f"Extrapolation to CREMA-D + TESS + SAVEE (10,700 clips, mean 2.5 s = {corpus_s/3600:.1f} h of audio), "
              f"compute per second of audio (incl. load, one core) / {scaling:.2f} (2-job speed-up of the 8x runs, capped at 2): "
              + '; '.join(f"tonnetz='{k}' {v*1e3:.1f} ms/s -> **{corpus_s*v/scaling/60:.1f} min on 2 cores**" for k, v in per_audio_s.items())
              + f". At the end-to-end rate of the 8x corpus run with 2 jobs (tonnetz='report', start-up included, "
              f"{big['clips_per_s']:.0f} clips/s) it is **{e2e/60:.1f} min** (goal < 5 min)."]
    if scaling < 1:  # say so rather than let the table read as if two jobs were slower by design
        lines += ['', f"In this run 2 jobs were slower than 1 on the 8x corpus: the other work on the machine "
                  "held the second core, so the 2-job rows and the extrapolations above understate what 2 free cores give."]
    lines += ['', f'Load: {load_note(load1, os.getloadavg()[0])}.']
    return lines

if __name__ == '__main__': main()
