"""Benchmark of the voice explanations (`emotion_nbdev.audio_explain`): the fast occlusion path against its yardstick.

Prints (and with --markdown, writes) two small tables, on the embedded synthetic speech and a model trained on it:
- time: `clip_features` (one plain answer's features), `explain_audio` (group bars + the whole occlusion curve from
  features computed once) and `occlusion_reference` (the yardstick: samples muted with 5 ms fades, `clip_features`
  recomputed per window), on clips of about 1, 3 and 10 s made by joining corpus clips; ms per second of audio and
  the yardstick / explain_audio ratio within the same run;
- agreement: per clip, the correlation of the two occlusion curves (drop of the answer's probability per window) and
  their largest difference, for both modes, over two clips of each emotion.
The machine's 1-minute load average is printed at the start and end: on a shared machine absolute times vary,
compare the ratios within one run.
Usage: python bench/bench_audio_explain.py [--repeat 10] [--markdown bench/RESULTS_audio_explain.md]
"""
import argparse, os, platform, time
from pathlib import Path
import numpy as np

def median_ms(f, repeat):
    "Median of `repeat` calls, in ms."
    t = []
    for _ in range(repeat):
        s = time.perf_counter(); f(); t.append((time.perf_counter() - s)*1000)
    return float(np.median(t))

def main(repeat=10, markdown=None):
    from threadpoolctl import threadpool_limits
    from emotion_nbdev.audio_data import load_synthetic_speech
    from emotion_nbdev.features import extract_features, clip_features, load_audio, FEATURE_SR
    from emotion_nbdev.audio_model import train_audio_model
    from emotion_nbdev.audio_explain import explain_audio, occlusion_windows, occlusion_reference
    load0 = os.getloadavg()[0]
    frame = extract_features(load_synthetic_speech().manifest, progress=False).frame
    model, _ = train_audio_model(frame, grid='small')
    labels = list(model.classes_)
    paths = frame['path'].tolist()
    speed, agree = [], []
    with threadpool_limits(1):
        explain_audio(model, load_audio(paths[0]))  # warm the caches (CQT filters) outside the timings
        for n_clips in (1, 3, 9):
            y = np.concatenate([load_audio(p) for p in paths[:n_clips]]); sec = y.size / FEATURE_SR
            wins = occlusion_windows(sec)
            t_feat = median_ms(lambda: clip_features(y), repeat)
            t_fast = median_ms(lambda: explain_audio(model, y), repeat)
            t_ref = median_ms(lambda: occlusion_reference(model, y, wins), 1)
            speed.append((sec, len(wins), t_feat, t_fast, t_fast / sec, t_ref, t_ref / sec, t_ref / t_fast))
        for mode in ('silence', 'remove'):
            corr, diff, same, span = [], [], [], []
            for p in frame.groupby('emotion', sort=True).head(2)['path']:
                y = load_audio(p)
                e = explain_audio(model, y, mode=mode)
                k = labels.index(e['emotion'])
                wins = np.column_stack([e['occlusion']['start_s'], e['occlusion']['end_s']])
                slow = e['probabilities'][e['emotion']] - occlusion_reference(model, y, wins, mode)[:, k]
                fast = np.array(e['occlusion']['delta_probability'])
                corr.append(np.corrcoef(fast, slow)[0, 1]); diff.append(np.abs(fast - slow).max()); same.append(np.argmax(fast) == np.argmax(slow))
                span.append(np.ptp(slow))
            agree.append((mode, len(corr), np.median(span), np.median(corr), np.min(corr), np.median(diff), np.max(diff), np.mean(same)))
    load1 = os.getloadavg()[0]
    lines = ['# Voice explanation benchmark', '',
             f'Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; one BLAS thread. '
             f'1-minute load average {load0:.1f} at the start, {load1:.1f} at the end (shared machine: compare the ratios within one run). '
             f'Command: `python bench/bench_audio_explain.py --repeat {repeat}`. Data: the embedded synthetic speech; the model is '
             "`train_audio_model(grid='small')` on it; windows of 0.25 s every 0.125 s.", '',
             'Time (median of the repeats; the yardstick once), clips made by joining corpus clips:', '',
             '| clip s | windows | clip_features ms | explain_audio ms | explain_audio ms per s | yardstick ms | yardstick ms per s | yardstick / explain_audio |',
             '|---|---|---|---|---|---|---|---|']
    lines += [f'| {s:.2f} | {w} | {a:.1f} | {b:.1f} | {c:.1f} | {d:.0f} | {e:.0f} | {r:.1f}x |' for s, w, a, b, c, d, e, r in speed]
    lines += ['', 'Agreement of the occlusion curves, fast path against the yardstick (drop of the answer\'s probability per window), '
              'two clips of each emotion (synthetic):', '',
              '| mode | clips | yardstick curve range, median | correlation, median | correlation, lowest | largest difference, median | largest difference, worst | same top window |',
              '|---|---|---|---|---|---|---|---|']
    lines += [f'| {m} | {n} | {r:.3f} | {a:.3f} | {b:.3f} | {c:.3f} | {d:.3f} | {s:.0%} |' for m, n, r, a, b, c, d, s in agree]
    lines += ['', 'Differences and ranges are in units of probability (0-1). The yardstick is not the truth either: it re-estimates the '
              'tuning and the dB floors on the edited clip, and its fades (and, when removing, its splice) are sounds of their own. '
              'A low correlation on a clip whose curve spans little is a disagreement on small numbers: read it with the largest difference.']
    text = '\n'.join(lines) + '\n'
    print(text)
    if markdown: Path(markdown).write_text(text)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeat', type=int, default=10)
    ap.add_argument('--markdown', default=None)
    a = ap.parse_args()
    main(a.repeat, a.markdown)
