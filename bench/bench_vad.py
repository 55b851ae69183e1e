"""Benchmark of the voice lane's activity detectors (`emotion_nbdev.timeline`): energy against Silero, on real speech with pauses.

Data: REAL human speech installed by Debian packages (asterisk prompt packages, alsa-utils, codec2-examples),
found at run time with `installed_speech` (a missing package is listed, not an error). Each source gives up to
`--recordings` recordings of up to `--prompts` prompts (0.8-6 s each), separated by pauses of 0.25, 0.5, 1 or 2 s
(drawn with a fixed seed), each prompt's speech at -20 dBFS +-6 dB. Truth: per clean prompt, speech where
librosa.effects.split finds it within 35 dB of its own loudest part (gaps under 0.2 s bridged); silence in the
pauses (`speech_with_pauses`). Conditions: clean; quiet (the clean recording 30 dB down); white, pink and babble
noise (four prompts of another source, summed) at 20, 10 and 5 dB SNR.
Measured per condition, on the flags as the voice lane sees them (each detector's hangover: energy 3 frames, Silero 1): frame accuracy, speech
recall and precision against the truth, mean and standard deviation over the recordings, and in how many
recordings Silero's accuracy is higher. Speed: milliseconds of compute per second of sound, one thread, each
detector fed as a stream (`detect_speech`) 1 frame and 8 frames at a time, best of 5 on 60 s of noisy speech; with --stock,
also the package's streaming `silero_vad.onnx` run chunk by chunk as its OnnxWrapper does, and the largest
difference between its probabilities and the vendored sequence network's.
Usage: python bench/bench_vad.py [--recordings 3] [--prompts 8] [--stock silero_vad/data/silero_vad.onnx] [--markdown bench/RESULTS_vad.md]
"""
import argparse, os, platform, time
from importlib import metadata
from pathlib import Path
import numpy as np
import pandas as pd

CONDITIONS = [('clean', None, 0), ('quiet (-30 dB)', None, -30)] + [(k, s, 0) for k in ('white', 'pink', 'babble') for s in (20, 10, 5)]
PAUSES = (0.25, 0.5, 1.0, 2.0)

def recordings(n_rec, n_prompts, seed=0):
    "Per source: up to n_rec recordings of prompts with pauses, their truth, and babble from the next source's prompts."
    from emotion_nbdev.timeline import installed_speech, read_prompt, speech_with_pauses
    speech = installed_speech()
    sources = sorted(speech['source'].unique())
    rng, out = np.random.default_rng(seed), []
    for j, src in enumerate(sources):
        paths = list(rng.permutation(speech.loc[speech['source'] == src, 'path']))
        per = max(3, min(n_prompts, len(paths)//n_rec))
        other = speech.loc[speech['source'] == sources[(j + 1) % len(sources)], 'path'].to_numpy()
        for r in range(min(n_rec, len(paths)//per)):
            prompts = [read_prompt(p) for p in paths[r*per:(r + 1)*per]]
            y, truth = speech_with_pauses(prompts, list(rng.choice(PAUSES, len(prompts) + 1)), seed=seed + 100*j + r)
            talkers = [read_prompt(p) for p in rng.choice(other, 4, replace=False)]
            babble = sum(np.resize(np.roll(t, int(rng.integers(len(t)))), 30*22050) for t in talkers)
            out.append(dict(source=src, y=y, truth=truth, babble=babble.astype(np.float32)))
    return out, speech

def agreement(recs, seed=0):
    "Per condition, recording and detector: accuracy, recall, precision with the lane's hangover."
    from emotion_nbdev.timeline import VAD_KINDS, add_noise, detect_speech, frame_truth, vad_scores
    rows = []
    for name, snr, gain in CONDITIONS:
        for i, r in enumerate(recs):
            x = r['y'] if snr is None else add_noise(r['y'], r['truth'], name, snr, seed=seed + i, babble=r['babble'])
            x = (x*10**(gain/20)).astype(np.float32)
            for vad in VAD_KINDS:
                rows.append(dict(condition=name if snr is None else f'{name} {snr} dB SNR', recording=i, source=r['source'], vad=vad,
                                 **vad_scores(detect_speech(x, vad), frame_truth(r['truth']))))
    return pd.DataFrame(rows)

def stock_probabilities(path, y16):
    "The package's streaming network chunk by chunk, as its OnnxWrapper runs it: 64 samples of context, state (2, 1, 128), sr input."
    import onnxruntime as ort
    o = ort.SessionOptions(); o.intra_op_num_threads = o.inter_op_num_threads = 1; o.log_severity_level = 3
    s = ort.InferenceSession(str(path), o, providers=['CPUExecutionProvider'])
    state, ctx, sr, out = np.zeros((2, 1, 128), np.float32), np.zeros((1, 64), np.float32), np.array(16000, np.int64), []
    for a in range(0, len(y16)//512*512, 512):
        x = np.concatenate([ctx, y16[None, a:a + 512]], 1)
        p, state = s.run(None, {'input': x, 'state': state, 'sr': sr}); out.append(float(p[0, 0])); ctx = x[:, -64:]
    return np.array(out, np.float32)

def best_of(funcs:dict, repeat=5):
    "Seconds of each function, the best of `repeat` runs, the functions taking turns (so a busy spell on the machine hits them alike)."
    times = {k: [] for k in funcs}
    for _ in range(repeat):
        for k, f in funcs.items():
            t = time.perf_counter(); f(); times[k].append(time.perf_counter() - t)
    return {k: min(v) for k, v in times.items()}

PIECES = (1, 8)  # frames per call: one decoded audio frame at a time (as a stream delivers it), and 186 ms

def speed(recs, stock=None, seconds=60.0):
    "ms of compute per second of sound (best of 5, taking turns) on `seconds` of speech with pink noise at 10 dB: each detector by piece size, then Silero's parts."
    import soxr
    from emotion_nbdev.features import FEATURE_SR
    from emotion_nbdev.timeline import SILERO_CHUNK, SILERO_CONTEXT, VAD_FRAME, add_noise, detect_speech, silero_probabilities
    y = np.concatenate([r['y'] for r in recs]); truth = np.concatenate([r['truth'] for r in recs])
    n = int(seconds*FEATURE_SR); y, truth = np.resize(y, n), np.resize(truth, n)
    x = add_noise(y, truth, 'pink', 10)
    def resample():
        stream = soxr.ResampleStream(FEATURE_SR, 16000, 1, dtype='float32', quality='HQ')
        for a in range(0, n, 8*VAD_FRAME): stream.resample_chunk(x[a:a + 8*VAD_FRAME])
    y16 = soxr.resample(x, FEATURE_SR, 16000).astype(np.float32)
    m = len(y16)//SILERO_CHUNK; f = y16[:m*SILERO_CHUNK].reshape(m, SILERO_CHUNK)
    chunks = np.hstack([np.vstack([np.zeros((1, SILERO_CONTEXT), np.float32), f[:-1, -SILERO_CONTEXT:]]), f])
    zero = (np.zeros((1, 1, 128), np.float32),)*2
    funcs = {(vad, k): (lambda vad=vad, k=k: detect_speech(x, vad, piece=k*VAD_FRAME)) for vad in ('energy', 'silero') for k in PIECES}
    funcs['resampling to 16 kHz alone (one soxr stream, 8 frames at a time)'] = resample
    funcs['the vendored network alone, whole signal in blocks of 512 chunks'] = lambda: silero_probabilities(chunks, zero)
    if stock: funcs["the package's streaming silero_vad.onnx, chunk by chunk as its OnnxWrapper (reference)"] = lambda: stock_probabilities(stock, y16)
    ms = {k: 1000*v/seconds for k, v in best_of(funcs).items()}
    fed, parts = {k: v for k, v in ms.items() if isinstance(k, tuple)}, {k: v for k, v in ms.items() if isinstance(k, str)}
    diff = float(np.abs(stock_probabilities(stock, y16) - silero_probabilities(chunks, zero)[0]).max()) if stock else None
    return fed, parts, diff, seconds

def installed_mb(dist):
    "Installed size of a distribution's files, in MB."
    return sum((f.locate().stat().st_size for f in metadata.files(dist) or [] if f.locate().is_file()))/1e6

def report(table, recs, speech, fed, parts, diff, seconds, args, load0, load1):
    import onnxruntime, soxr
    from emotion_nbdev.timeline import silero_vad_path
    g = table.pivot_table(index=['condition', 'recording'], columns='vad', values=['accuracy', 'recall', 'precision'])
    order = [c if s is None else f'{c} {s} dB SNR' for c, s, _ in CONDITIONS]
    n = len(recs); audio = sum(len(r['y']) for r in recs)/22050
    lines = ['# Voice activity: energy against Silero on real speech with pauses', '',
             f'Machine: {platform.machine()}, {os.cpu_count()} CPU cores; Python {platform.python_version()}, onnxruntime {onnxruntime.__version__}, '
             f'soxr {soxr.__version__}, numpy {np.__version__}. 1-minute load average {load0:.1f} at the start and {load1:.1f} at the end '
             '(above 2 means other work shared the cores during the run).', '',
             f'Command: `python bench/bench_vad.py --recordings {args.recordings} --prompts {args.prompts}' + (' --stock silero_vad.onnx' if args.stock else '') + ' --markdown bench/RESULTS_vad.md`', '',
             f'Data: REAL speech from Debian packages, {n} recordings ({audio:.0f} s) from {len(set(r["source"] for r in recs))} sources: '
             + ', '.join(f'{s} ({k})' for s, k in pd.Series([r['source'] for r in recs]).value_counts().sort_index().items())
             + (f'; not installed: {", ".join(speech.attrs["missing"])}' if speech.attrs['missing'] else '') + '. '
             'Prompts separated by pauses of 0.25-2 s; truth from each clean prompt (librosa.effects.split, 35 dB, gaps under 0.2 s bridged), '
             'silence in the pauses: an energy rule on clean sound, so the clean condition favours the energy detector by construction. '
             'Noise mixed in at the given SNR (speech power over noise power); babble: four prompts of another source summed. '
             'No training and no split: neither detector learned from these recordings. Flags as the voice lane sees them: widened on each side by 3 frames of 23 ms (energy) or 1 (Silero, about its own 30 ms pad).', '',
             '## Frame agreement with the truth (mean ± standard deviation over the recordings)', '',
             '| condition | energy accuracy | Silero accuracy | Silero higher | energy recall / precision | Silero recall / precision |',
             '|---|---:|---:|---:|---:|---:|']
    for c in order:
        d = g.loc[c]
        acc = {v: d[('accuracy', v)] for v in ('energy', 'silero')}
        rp = {v: f"{d[('recall', v)].mean():.3f} / {d[('precision', v)].mean():.3f}" for v in ('energy', 'silero')}
        lines.append(f"| {c} | {acc['energy'].mean():.3f} ± {acc['energy'].std():.3f} | {acc['silero'].mean():.3f} ± {acc['silero'].std():.3f} | "
                     f"{int((acc['silero'] > acc['energy']).sum())} of {len(d)} | {rp['energy']} | {rp['silero']} |")
    by = table[table['condition'] != 'clean'].pivot_table(index='source', columns='vad', values='accuracy')
    clean = table[table['condition'] == 'clean'].pivot_table(index='source', columns='vad', values='accuracy')
    lines += ['', '## By source: accuracy, clean and averaged over the ten other conditions', '',
              '| source | recordings | energy clean | Silero clean | energy other | Silero other |', '|---|---:|---:|---:|---:|---:|']
    for s in clean.index:
        lines.append(f"| {s} | {sum(r['source'] == s for r in recs)} | {clean.loc[s, 'energy']:.3f} | {clean.loc[s, 'silero']:.3f} | {by.loc[s, 'energy']:.3f} | {by.loc[s, 'silero']:.3f} |")
    lines += ['', f'## Cost: milliseconds of compute per second of sound (one thread, best of 5 taking turns, {seconds:.0f} s of speech with pink noise at 10 dB SNR)', '',
              '| detector | fed 1 frame (23 ms) at a time | fed 8 frames (186 ms) at a time |', '|---|---:|---:|']
    for vad in ('energy', 'silero'): lines.append(f'| {vad} | ' + ' | '.join(f'{fed[(vad, k)]:.3f}' for k in PIECES) + ' |')
    lines += ['| Silero / energy | ' + ' | '.join(f"{fed[('silero', k)]/fed[('energy', k)]:.0f}x" for k in PIECES) + ' |', '',
              '| part of Silero | ms per s of sound |', '|---|---:|'] + [f'| {k} | {v:.3f} |' for k, v in parts.items()]
    lines += ['', f"Files: the vendored network {silero_vad_path().stat().st_size/1e6:.2f} MB; onnxruntime {onnxruntime.__version__} installed {installed_mb('onnxruntime'):.0f} MB "
              '(its other requirements, numpy, protobuf, flatbuffers and packaging, were already installed).']
    if diff is not None: lines.append(f'Largest difference between the vendored sequence network\'s probabilities and the package\'s streaming network run chunk by chunk: {diff:.2e}.')
    return '\n'.join(lines)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--recordings', type=int, default=3, help='recordings per source')
    ap.add_argument('--prompts', type=int, default=8, help='prompts per recording')
    ap.add_argument('--stock', metavar='ONNX', help="the package's streaming silero_vad.onnx (from the silero-vad wheel), to compare and time")
    ap.add_argument('--markdown', metavar='FILE', help='also write the tables as Markdown')
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    recs, speech = recordings(args.recordings, args.prompts)
    if not recs: raise SystemExit('no speech packages installed (asterisk-core-sounds-*-wav, alsa-utils, codec2-examples): nothing to measure')
    table = agreement(recs)
    fed, parts, diff, seconds = speed(recs, args.stock)
    load1 = os.getloadavg()[0]
    text = report(table, recs, speech, fed, parts, diff, seconds, args, load0, load1)
    print(text)
    if args.markdown: Path(args.markdown).write_text(text + '\n')

if __name__ == '__main__':
    main()
