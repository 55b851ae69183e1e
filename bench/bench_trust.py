"""Benchmark of the trust layer (`emotion_nbdev.trust`): what it adds to a served answer and to training.

Prints (and with --markdown, writes) small tables, on the embedded synthetic data:
- per answer, ms: `model.predict_proba` (the reference: what the server runs today) against `Trust.assess`
  (calibrated probabilities + novelty score + flag), for 1 row and for a batch of 100 rows; ratio in the same run;
- per model, s: training (`train_audio_model` with the report's grid; `train_landmark_model`) against `fit_trust`
  (the nested comparisons and the final fit), and `load_trust` of the saved companion file.
The machine's 1-minute load average is printed at the start and end: on a shared machine absolute times vary,
compare the ratios within one run.
Usage: python bench/bench_trust.py [--repeat 50] [--markdown bench/RESULTS_trust.md]
"""
import argparse, os, platform, tempfile, time
from pathlib import Path
import numpy as np

def best_ms(f, repeat):
    "Median and best of `repeat` calls, in ms."
    t = []
    for _ in range(repeat):
        s = time.perf_counter(); f(); t.append((time.perf_counter() - s)*1000)
    return float(np.median(t)), float(np.min(t))

def timed(f):
    s = time.perf_counter(); out = f(); return out, time.perf_counter() - s

def main(repeat=50, markdown=None):
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
    from threadpoolctl import threadpool_limits
    from emotion_nbdev.audio_data import load_synthetic_speech
    from emotion_nbdev.features import extract_features, FEATURE_NAMES
    from emotion_nbdev.audio_model import train_audio_model
    from emotion_nbdev.face_data import load_synthetic_faces
    from emotion_nbdev.face_models import train_landmark_model, landmark_xy
    from emotion_nbdev.trust import audio_trust, landmark_trust, save_trust, load_trust, trust_path
    load0 = os.getloadavg()[0]
    frame = extract_features(load_synthetic_speech().manifest, progress=False).frame
    faces = load_synthetic_faces()
    (am, _), t_am = timed(lambda: train_audio_model(frame, grid='report', cv='speaker', folds=5))
    ta, t_ta = timed(lambda: audio_trust(frame, am))
    (fm, _), t_fm = timed(lambda: train_landmark_model(faces))
    tf, t_tf = timed(lambda: landmark_trust(faces, fm))
    rows_a, rows_f = frame[FEATURE_NAMES].to_numpy(float), landmark_xy(faces)[0]
    answer, fit = [], []
    with tempfile.TemporaryDirectory() as d, threadpool_limits(1):
        for name, model, trust, X, t_model, t_trust in (('audio', am, ta, rows_a, t_am, t_ta), ('landmarks', fm, tf, rows_f, t_fm, t_tf)):
            for n in (1, 100):
                x = np.resize(X, (n, X.shape[1]))
                ref = best_ms(lambda: model.predict_proba(x), repeat); new = best_ms(lambda: trust.assess(model, x), repeat)
                answer.append((name, n, ref[0], new[0], new[0]/ref[0]))
            f = save_trust(trust, trust_path(Path(d)/f'{name}.skops'))
            load = best_ms(lambda: load_trust(f), max(3, repeat//10))
            fit.append((name, t_model, t_trust, t_trust/t_model, load[0], f.stat().st_size/1024))
    load1 = os.getloadavg()[0]
    lines = ['# Trust layer benchmark', '',
             f'Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; one BLAS thread while timing answers. '
             f'1-minute load average {load0:.1f} at the start, {load1:.1f} at the end (shared machine: compare the ratios within one run). '
             f'Command: `python bench/bench_trust.py --repeat {repeat}`. Data: the embedded synthetic speech (210 clips) and faces (700).', '',
             'Per answer (median of the repeats), `predict_proba` is the reference the server runs without the trust layer:', '',
             '| model | rows | predict_proba ms | Trust.assess ms | assess / predict_proba |', '|---|---|---|---|---|']
    lines += [f'| {m} | {n} | {a:.2f} | {b:.2f} | {r:.1f}x |' for m, n, a, b, r in answer]
    lines += ['', 'Per model, once at training time:', '',
              '| model | training s | fit_trust s | fit_trust / training | load_trust ms | companion file KiB |', '|---|---|---|---|---|---|']
    lines += [f'| {m} | {a:.1f} | {b:.1f} | {r:.2f}x | {l:.1f} | {kb:.0f} |' for m, a, b, r, l, kb in fit]
    text = '\n'.join(lines) + '\n'
    print(text)
    if markdown: Path(markdown).write_text(text)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--repeat', type=int, default=50)
    p.add_argument('--markdown', default=None)
    a = p.parse_args()
    main(a.repeat, a.markdown)
