"""Benchmark of emotion over time (`emotion_nbdev.timeline`) on this machine, beside a naive loop in the same run.

Video: 640x480, 25 fps, H.264 + AAC, one SYNTHETIC face drifting across the frame and SYNTHETIC speech with
pauses (made with `make_av_clip` from the embedded data), at two lengths (60 s and 300 s by default).
Models: the FER2013 face network and the demo's audio pipeline fitted on the embedded SYNTHETIC speech with its
calibration and novelty flag (as the demo trains it; fitted once here and loaded by every worker).
Measured, each run in a fresh worker process (models loaded and warmed up on a 3 s clip before the clock starts):
- real-time factor of the default analysis (`analyse_video`, face_fps=5, window 2 s, hop 0.5 s): seconds of
  compute per second of video; goal <= 0.1;
- frames per second with face_fps='all' (every frame through tracking and the face model); goal >= 50;
- peak memory: the largest resident-set size during the analysis minus the size before it (psutil, sampled every
  20 ms), for the short and the long video; goal: the long within 10% of the short;
- the same for a naive loop: OpenCV reads every frame, each analysed frame is detected (dlib, one photo at a time)
  and predicted alone, the whole sound track is decoded into memory and every hop window is scored alone.
Usage: python bench/bench_timeline.py [--short 60] [--long 300] [--markdown bench/RESULTS_timeline.md]
"""
import argparse, json, os, platform, subprocess, sys, tempfile, threading, time
from pathlib import Path
import numpy as np

GOALS = dict(rtf=0.1, fps=50.0, memory=0.10)

def make_video(path, seconds, seed=0):
    "A 640x480 25 fps clip of `seconds`: one synthetic face, synthetic sentences of one voice with pauses."
    from emotion_nbdev.audio_data import load_synthetic_speech
    from emotion_nbdev.face_data import synthetic_faces_dir, read_image, detect_faces
    from emotion_nbdev.timeline import make_av_clip, moving_face_frames
    m = load_synthetic_speech().manifest.query("speaker == 'V3'").sort_values('path')
    face = next(img for img in (read_image(p) for p in sorted((synthetic_faces_dir()/'happiness').glob('*.png')))
                if all(detect_faces(f) for f in list(moving_face_frames(img, 1.6))[::19]))
    per = m['duration'].mean() + 0.4
    paths = [m['path'].iloc[i % len(m)] for i in range(max(1, int((seconds - 0.4)/per)))]
    return make_av_clip(path, face, paths, seed=seed)

class PeakRSS:
    "The largest resident-set size seen while the block runs (sampled on a thread)."
    def __init__(self, every=0.02): self.every, self.peak, self._stop = every, 0, threading.Event()
    def _watch(self):
        import psutil
        me = psutil.Process()
        while not self._stop.is_set(): self.peak = max(self.peak, me.memory_info().rss); time.sleep(self.every)
    def __enter__(self):
        import psutil
        self.start = psutil.Process().memory_info().rss; self.peak = self.start
        self._t = threading.Thread(target=self._watch, daemon=True); self._t.start(); return self
    def __exit__(self, *a): self._stop.set(); self._t.join()

def naive(path, models, face_fps=5, window=2.0, hop=0.5):
    "Read a frame, detect, predict, one at a time; the whole sound track in memory, every window scored alone."
    import cv2
    from emotion_nbdev.face_pretrained import detect_and_analyse
    from emotion_nbdev.features import clip_features, FEATURE_SR
    from emotion_nbdev.timeline import open_media, media_frames
    cap, fer, i, analysed, answers = cv2.VideoCapture(str(path)), {'fer2013': models.faces['fer2013']}, 0, 0, []
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    every = 1 if face_fps == 'all' else max(1, round(fps/face_fps))
    while True:
        ok, bgr = cap.read()
        if not ok: break
        if i % every == 0: answers.append(detect_and_analyse(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), fer)); analysed += 1
        i += 1
    cap.release()
    with open_media(path) as c: y = np.concatenate([s for _, _, s in media_frames(c, video=False)])
    trust, w = models.trust['audio'], int(window*FEATURE_SR)
    for k in range(int(len(y)/FEATURE_SR/hop)):
        c = int((k + 0.5)*hop*FEATURE_SR); seg = y[max(0, c - w//2):c + w//2]
        if np.sqrt(np.mean(seg**2)) > 1e-3: trust.assess(models.audio, clip_features(seg)[None])
    return analysed

VOICE_FORMAT, PROX = 'emotion_nbdev.bench-voice/1', ('emotion_nbdev.prox.ProxLogisticRegression',)

def fit_voice(folder):
    "The demo's audio pipeline and its `Trust`, fitted on the embedded synthetic speech, saved with skops in `folder`."
    from emotion_nbdev.audio_data import load_synthetic_speech
    from emotion_nbdev.audio_model import audio_pipeline
    from emotion_nbdev.core import save_skops
    from emotion_nbdev.features import FEATURE_NAMES, extract_features
    from emotion_nbdev.trust import audio_trust, save_trust
    frame = extract_features(load_synthetic_speech().manifest, progress=False).frame
    pipe = audio_pipeline(C=0.1, penalty='elasticnet', l1_ratio=0.75).fit(frame[FEATURE_NAMES].to_numpy(float), frame['emotion'].to_numpy())
    save_skops(pipe, Path(folder)/'voice.skops', VOICE_FORMAT, {}); save_trust(audio_trust(frame, pipe), Path(folder)/'voice.trust.skops')

def load_models(folder):
    "What `analyse_video` reads of the app's `DemoModels`: the audio model, its trust, the face models."
    from types import SimpleNamespace
    from emotion_nbdev.core import load_skops
    from emotion_nbdev.face_pretrained import load_fer_model
    from emotion_nbdev.trust import load_trust
    audio = load_skops(Path(folder)/'voice.skops', VOICE_FORMAT, trusted=PROX)[0]
    return SimpleNamespace(audio=audio, trust={'audio': load_trust(Path(folder)/'voice.trust.skops')[0]}, faces={'fer2013': load_fer_model()}, synthetic={'audio': True})

def worker(mode, video, warm):
    "One measurement in this process: prints JSON."
    os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'
    from emotion_nbdev.timeline import analyse_video, probe_video
    models = load_models(Path(warm).parent)
    kind, fps = mode.split(':')
    fps = fps if fps == 'all' else float(fps)
    run = (lambda p: analyse_video(p, models, face_fps=fps).source['analysed_frames']) if kind == 'ours' else (lambda p: naive(p, models, fps))
    run(warm)  # graph building, detector and feature caches
    with PeakRSS() as mem:
        t = time.perf_counter(); frames = run(video); seconds = time.perf_counter() - t
    print(json.dumps(dict(seconds=seconds, frames=frames, video_s=probe_video(video).duration, rss_delta_mb=(mem.peak - mem.start)/2**20)))

def measure(mode, video, warm):
    out = subprocess.run([sys.executable, __file__, '--worker', mode, str(video), str(warm)], capture_output=True, text=True)
    if out.returncode: raise RuntimeError(f'worker {mode} on {Path(video).name} failed:\n{out.stderr[-3000:]}')
    return json.loads(out.stdout.strip().splitlines()[-1])

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--short', type=float, default=60, help='length of the short video in seconds (default 60)')
    ap.add_argument('--long', type=float, default=300, help='length of the long video in seconds (default 300)')
    ap.add_argument('--markdown', metavar='FILE', help='also write the tables as Markdown')
    ap.add_argument('--worker', nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker: return worker(*args.worker)
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix='bench-timeline-') as d:
        d = Path(d); t = time.perf_counter()
        warm, short, long = (make_video(d/f'{n}.mp4', s)['path'] for n, s in (('warm', 3), ('short', args.short), ('long', args.long)))
        fit_voice(d)
        made = time.perf_counter() - t
        res = {(m, n): measure(m, v, warm) for m in ('ours:5', 'naive:5') for n, v in (('short', short), ('long', long))}
        res.update({(m, 'short'): measure(m, short, warm) for m in ('ours:all', 'naive:all')})
    load1 = os.getloadavg()[0]
    print(report(res, args, load0, load1, made))
    if args.markdown: Path(args.markdown).write_text(report(res, args, load0, load1, made) + '\n')

def report(res, args, load0, load1, made):
    import tensorflow as tf, av
    rtf = lambda r: r['seconds']/r['video_s']
    ok = lambda c: 'met' if c else 'not met'
    o, n = res[('ours:5', 'short')], res[('naive:5', 'short')]
    oa, na = res[('ours:all', 'short')], res[('naive:all', 'short')]
    grow = lambda m: res[(m, 'long')]['rss_delta_mb']/max(res[(m, 'short')]['rss_delta_mb'], 1e-9) - 1
    lines = ['# Emotion over time: speed and memory on this machine', '',
             f'Machine: {platform.machine()}, {os.cpu_count()} CPU cores; Python {platform.python_version()}, TensorFlow {tf.__version__}, PyAV {av.__version__}. '
             f'1-minute load average {load0:.1f} at the start and {load1:.1f} at the end (above {os.cpu_count()} means other work shared the cores during the run).', '',
             f'Command: `python bench/bench_timeline.py --short {args.short:g} --long {args.long:g} --markdown bench/RESULTS_timeline.md`', '',
             f'Videos: 640x480, 25 fps, H.264 + AAC, one SYNTHETIC face and SYNTHETIC speech with pauses, {args.short:g} s and {args.long:g} s (made in {made:.0f} s). '
             'Each measurement runs in a fresh process after a warm-up on a 3 s clip.', '',
             '## Speed', '',
             '| run | face frames analysed | seconds | real-time factor | analysed frames/s | goal | |',
             '|---|---:|---:|---:|---:|---|---|',
             f"| ours, face_fps=5 ({args.short:g} s video) | {o['frames']} | {o['seconds']:.1f} | {rtf(o):.3f} | {o['frames']/o['seconds']:.0f} | real-time factor <= {GOALS['rtf']} | {ok(rtf(o) <= GOALS['rtf'])} |",
             f"| naive loop, face_fps=5 | {n['frames']} | {n['seconds']:.1f} | {rtf(n):.3f} | {n['frames']/n['seconds']:.0f} | reference | {rtf(n)/rtf(o):.1f}x slower |",
             f"| ours, face_fps='all' | {oa['frames']} | {oa['seconds']:.1f} | {rtf(oa):.3f} | {oa['frames']/oa['seconds']:.0f} | >= {GOALS['fps']:.0f} frames/s | {ok(oa['frames']/oa['seconds'] >= GOALS['fps'])} |",
             f"| naive loop, face_fps='all' | {na['frames']} | {na['seconds']:.1f} | {rtf(na):.3f} | {na['frames']/na['seconds']:.0f} | reference | {(oa['frames']/oa['seconds'])/(na['frames']/na['seconds']):.1f}x fewer frames/s |",
             '', '## Peak memory during the analysis (resident set, MB above the size before it)', '',
             f'| run | {args.short:g} s video | {args.long:g} s video | growth | goal: within {GOALS["memory"]:.0%} | |', '|---|---:|---:|---:|---|---|']
    for m, name in (('ours:5', 'ours, face_fps=5'), ('naive:5', 'naive loop, face_fps=5')):
        s, l, g = res[(m, 'short')]['rss_delta_mb'], res[(m, 'long')]['rss_delta_mb'], grow(m)
        lines.append(f"| {name} | {s:.1f} | {l:.1f} | {g:+.0%} | {'' if m == 'ours:5' else 'reference'} | {ok(abs(g) <= GOALS['memory']) if m == 'ours:5' else ''} |")
    lines += ['', f"Real-time factor on the {args.long:g} s video: ours {rtf(res[('ours:5', 'long')]):.3f}, naive loop {rtf(res[('naive:5', 'long')]):.3f}."]
    return '\n'.join(lines)

if __name__ == '__main__': main()
