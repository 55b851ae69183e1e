"""Whole-process speed of the `emotion-nbdev` command from a shell, beside references timed in the same run.

What a user waits for is the whole process: interpreter, imports, model loading, graph building, the analysis and
writing the files. Every row here times a fresh process from the outside (subprocess, wall clock) and reads its CPU
time and peak resident memory from the operating system (`os.wait4`); the median of `--repeats` runs, taken in turns.

Clip: 640x480, 25 fps, H.264 + AAC, made here: a REAL face photo (scikit-image's astronaut, drifting a little across
the frame) and REAL speech (one speaker's prompts from Debian's asterisk sounds, `installed_speech`, with pauses).
Nobody labelled its emotion: it measures speed and memory, not accuracy. Lengths: 60 s and 300 s, and 1 s for start-up.
Models: the demo's models folder (`$EMOTION_MODELS_DIR` or the cache; `emotion-nbdev demo-models` trains them when
missing) - the audio model with its calibration, and the packaged FER2013 network.

Rows:
- `analyse-video` on the 60 s clip, default face rate (5 a second): real-time factor (wall seconds per second of
  video); goal <= 0.15. Reference: the same analysis inside a process whose models are loaded and warm (what
  `bench_timeline.py` measures), and the previous route of the command (every demo model loaded, Keras included, the
  FER2013 face framed by its Haar search on every analysed frame);
- `analyse-video --face-fps all` on the 60 s clip: analysed frames per wall second; goal >= 100;
- peak resident memory of the whole process on the 60 s and the 300 s clip; goal: within 10%;
- start-up: `analyse-video` on a 1 s clip (imports, model loading, graph building, one network call), beside
  `python -c pass` and `python -c "import tensorflow"`;
- commands that need no TensorFlow: `--help`, `sample-data`, `download --list`, `predict-audio --help`, and
  `predict-audio` on one clip of the embedded corpus; goal: each under 1.5 s.
Usage: python bench/bench_shell.py [--repeats 3] [--short 60] [--long 300] [--markdown bench/RESULTS_shell.md]
"""
import argparse, csv, json, os, platform, statistics, subprocess, sys, tempfile, time
from importlib.metadata import version
from pathlib import Path

GOALS = dict(rtf=0.15, fps=100.0, memory=0.10, start=1.5)
PY = sys.executable
EXE = str(Path(PY).parent/'emotion-nbdev')
QUIET = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3'}

def make_clip(path, seconds, seed=0):
    "A 640x480 25 fps clip: the astronaut's face drifting, one speaker's asterisk prompts with pauses (real speech)."
    import numpy as np
    from skimage.data import astronaut
    from emotion_nbdev.timeline import installed_speech, moving_face_frames, read_prompt, speech_with_pauses, write_video
    face = astronaut()[0:300, 80:380]  # her head and shoulders, square
    prompts = installed_speech().query("source == 'asterisk en_US Allison'").sort_values('path')['path']
    if prompts.empty: raise SystemExit('needs the asterisk en_US prompts (Debian: asterisk-core-sounds-en-wav)')
    rng, ys, total = np.random.default_rng(seed), [], 0.0
    for p in prompts:
        ys.append(read_prompt(p)); total += len(ys[-1])/16000 + 0.6
        if total > seconds: break
    y, _ = speech_with_pauses(ys, list(rng.uniform(0.3, 0.9, len(ys) + 1)), seed=seed)
    y = np.resize(y, int(seconds*16000))  # repeated from the start when the prompts run out, cut at the length
    write_video(path, moving_face_frames(face, seconds), 25.0, y, 16000)
    return path

def timed(cmd, cwd=None):
    "Run a command; wall seconds, CPU seconds (user + system) and peak resident MB of the process, from the OS."
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd, env=QUIET)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode:
            err.seek(0); raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{err.read().decode()[-3000:]}")
        out.seek(0)
        return dict(wall=wall, cpu=ru.ru_utime + ru.ru_stime, rss_mb=ru.ru_maxrss/1024, stdout=out.read().decode())

PREVIOUS = '''
import sys
from emotion_nbdev.app import train_demo_models, load_demo_models
from emotion_nbdev.timeline import analyse_video
train_demo_models(progress=False, log=lambda *a, **k: None)  # checks every model by loading it, Keras CNN included
tl = analyse_video(sys.argv[1], load_demo_models(), face_fps=5, framing='every', parallel=False)  # framed on every analysed frame, one thread
tl.to_csv(sys.argv[2])
'''

IN_PROCESS = '''
import sys, json, time, argparse
from emotion_nbdev.cli import _timeline_models
from emotion_nbdev.timeline import analyse_video
models = _timeline_models(argparse.Namespace(models=None, quiet=True))
analyse_video(sys.argv[1], models, face_fps=sys.argv[3] if sys.argv[3] == 'all' else float(sys.argv[3]))  # warm-up: caches, graphs
t = time.perf_counter(); tl = analyse_video(sys.argv[2], models, face_fps=sys.argv[3] if sys.argv[3] == 'all' else float(sys.argv[3]))
print(json.dumps(dict(seconds=time.perf_counter() - t, frames=tl.source['analysed_frames'])))
'''

def median_runs(make_cmd, repeats, order):
    "Run each named command `repeats` times, in turns; the median of each measure per name."
    runs = {name: [] for name in order}
    for _ in range(repeats):
        for name in order: runs[name].append(timed(make_cmd(name)))
    return {name: dict(wall=statistics.median(r['wall'] for r in rs), cpu=statistics.median(r['cpu'] for r in rs),
                       rss_mb=statistics.median(r['rss_mb'] for r in rs), spread=(min(r['wall'] for r in rs), max(r['wall'] for r in rs)),
                       stdout=rs[-1]['stdout'], n=len(rs)) for name, rs in runs.items()}

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=3, help='runs of each command, taken in turns (default 3)')
    ap.add_argument('--short', type=float, default=60, help='length of the short clip in seconds (default 60)')
    ap.add_argument('--long', type=float, default=300, help='length of the long clip in seconds (default 300)')
    ap.add_argument('--markdown', metavar='FILE', help='also write the tables as Markdown')
    ap.add_argument('--make', nargs=2, metavar=('PATH', 'SECONDS'), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make: return make_clip(args.make[0], float(args.make[1]))
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix='bench-shell-') as d:
        d = Path(d); t = time.perf_counter()
        clips = {n: d/f'{n}.mp4' for n in ('start', 'short', 'long')}
        for n, s in (('start', 1), ('short', args.short), ('long', args.long)):  # made in another process: this one stays small
            subprocess.run([PY, __file__, '--make', str(clips[n]), str(s)], check=True, env=QUIET, capture_output=True)
        made = time.perf_counter() - t
        timed([EXE, 'demo-models', '-q'])  # trains the demo's models when missing; nothing otherwise
        av = lambda clip, out, *o: [EXE, 'analyse-video', str(clips[clip]), '-o', str(d/out), '-q', *o]
        video = median_runs(lambda n: {'ours': av('short', 'o.csv'), 'ours all': av('short', 'a.csv', '--face-fps', 'all', '--json', str(d/'all.json')), 'start-up': av('start', 's.csv'),
                                       'previous': [PY, '-c', PREVIOUS, str(clips['short']), str(d/'p.csv')],
                                       'python': [PY, '-c', 'pass'], 'tensorflow': [PY, '-c', 'import tensorflow']}[n],
                            args.repeats, ['ours', 'ours all', 'start-up', 'previous', 'python', 'tensorflow'])
        inproc = {fps: json.loads(timed([PY, '-c', IN_PROCESS, str(clips['start']), str(clips['short']), fps])['stdout'].strip().splitlines()[-1]) for fps in ('5', 'all')}
        frames_all = json.loads((d/'all.json').read_text())['source']['analysed_frames']
        long = timed(av('long', 'l.csv'))
        audio = str(sorted((Path(timed([EXE, 'sample-data'])['stdout'].strip())/'ALL').glob('*.flac'))[0])
        model = timed([PY, '-c', 'from emotion_nbdev.app import models_dir; print(models_dir()/"audio.skops")'])['stdout'].strip()
        face = lambda f: [r['face_emotion'] for r in csv.DictReader(open(f))]
        same_face = (sum(a == b for a, b in zip(face(d/'o.csv'), face(d/'p.csv'))), len(face(d/'o.csv')))
        light = median_runs(lambda n: {'--help': [EXE, '--help'], 'sample-data': [EXE, 'sample-data'], 'download --list': [EXE, 'download', '--list'],
                                       'predict-audio --help': [EXE, 'predict-audio', '--help'], 'predict-audio (one clip)': [EXE, 'predict-audio', model, audio],
                                       'python': [PY, '-c', 'pass']}[n], max(args.repeats, 5),
                            ['--help', 'sample-data', 'download --list', 'predict-audio --help', 'predict-audio (one clip)', 'python'])
    load1 = os.getloadavg()[0]
    text = report(video, inproc, frames_all, same_face, long, light, args, load0, load1, made)
    print(text)
    if args.markdown: Path(args.markdown).write_text(text + '\n')

def report(video, inproc, frames_all, same_face, long, light, args, load0, load1, made):
    n = args.repeats
    sec = lambda r: f"{r['wall']:.1f} ({r['spread'][0]:.1f}-{r['spread'][1]:.1f})"
    ok = lambda c: 'met' if c else 'not met'
    o, a, s, p = video['ours'], video['ours all'], video['start-up'], video['previous']
    lines = ['# The `emotion-nbdev` command from a shell: whole-process speed and memory', '',
             f'Machine: {platform.machine()}, {os.cpu_count()} CPU cores; Python {platform.python_version()}, TensorFlow {version("tensorflow-cpu")}, PyAV {version("av")}. '
             f'1-minute load average {load0:.1f} at the start and {load1:.1f} at the end (above {os.cpu_count()} means other work shared the cores during the run, '
             'and wall-clock seconds grow with it; CPU seconds much less).', '',
             f'Command: `python bench/bench_shell.py --repeats {n} --short {args.short:g} --long {args.long:g} --markdown bench/RESULTS_shell.md`', '',
             f'Clips: 640x480, 25 fps, H.264 + AAC: a REAL face photo (scikit-image\'s astronaut) drifting, REAL speech (asterisk prompts of one speaker, '
             f'with pauses); 1 s, {args.short:g} s and {args.long:g} s (made in {made:.0f} s). Nobody labelled their emotion: speed and memory only. '
             f'Each row: a fresh process timed from outside, the median of {n} runs taken in turns (the range in brackets).', '',
             '## analyse-video, the whole process', '',
             '| run | wall seconds | CPU seconds | real-time factor | analysed frames/s | peak memory MB | goal | |',
             '|---|---:|---:|---:|---:|---:|---|---|',
             f"| ours, default face rate, {args.short:g} s clip | {sec(o)} | {o['cpu']:.1f} | {o['wall']/args.short:.3f} | | {o['rss_mb']:.0f} | real-time factor <= {GOALS['rtf']} | {ok(o['wall']/args.short <= GOALS['rtf'])} |",
             f"| previous route (all demo models, Keras, framing every frame) | {sec(p)} | {p['cpu']:.1f} | {p['wall']/args.short:.3f} | | {p['rss_mb']:.0f} | reference | ours {p['wall']/o['wall']:.1f}x faster |",
             f"| analysis alone, models loaded and warm (in-process) | {inproc['5']['seconds']:.1f} | | {inproc['5']['seconds']/args.short:.3f} | | | reference | start-up and loading: {o['wall'] - inproc['5']['seconds']:.1f} s of ours |",
             f"| ours, --face-fps all, {args.short:g} s clip | {sec(a)} | {a['cpu']:.1f} | {a['wall']/args.short:.3f} | {frames_all/a['wall']:.0f} | {a['rss_mb']:.0f} | >= {GOALS['fps']:.0f} frames/s | {ok(frames_all/a['wall'] >= GOALS['fps'])} |",
             f"| analysis alone, --face-fps all (in-process) | {inproc['all']['seconds']:.1f} | | {inproc['all']['seconds']/args.short:.3f} | {frames_all/inproc['all']['seconds']:.0f} | | reference | |",
             '', f"Face answers of ours (framed where the detector runs, moved with the track) and of the previous route (framed on every analysed frame): "
             f"the same on {same_face[0]} of {same_face[1]} steps of the {args.short:g} s clip.",
             '', '## Start-up', '',
             '| run | wall seconds | CPU seconds | peak memory MB | |', '|---|---:|---:|---:|---|',
             f"| ours: analyse-video on a 1 s clip (imports, models, graph, one network call) | {sec(s)} | {s['cpu']:.1f} | {s['rss_mb']:.0f} | |",
             f"| `python -c \"import tensorflow\"` | {sec(video['tensorflow'])} | {video['tensorflow']['cpu']:.1f} | {video['tensorflow']['rss_mb']:.0f} | reference: {s['wall'] - video['tensorflow']['wall']:+.1f} s of ours beyond it |",
             f"| `python -c pass` | {sec(video['python'])} | {video['python']['cpu']:.2f} | {video['python']['rss_mb']:.0f} | reference |",
             '', f'## Peak memory of the whole process against the clip\'s length', '',
             f'| run | {args.short:g} s clip | {args.long:g} s clip | growth | goal: within {GOALS["memory"]:.0%} | |', '|---|---:|---:|---:|---|---|',
             f"| ours, default face rate | {o['rss_mb']:.0f} MB | {long['rss_mb']:.0f} MB | {long['rss_mb']/o['rss_mb'] - 1:+.0%} | | {ok(abs(long['rss_mb']/o['rss_mb'] - 1) <= GOALS['memory'])} |",
             '', f"Real-time factor on the {args.long:g} s clip (one run): {long['wall']/args.long:.3f} ({long['wall']:.1f} s wall, {long['cpu']:.1f} s CPU).",
             '', '## Commands that need no TensorFlow', '',
             f'| command | wall seconds (median of {max(n, 5)}) | CPU seconds | goal: under {GOALS["start"]} s | |', '|---|---:|---:|---|---|']
    for name, r in light.items():
        lines.append(f"| {'`python -c pass`' if name == 'python' else f'`emotion-nbdev {name}`'} | {sec(r)} | {r['cpu']:.2f} | {'reference' if name == 'python' else ''} | {'' if name == 'python' else ok(r['wall'] < GOALS['start'])} |")
    return '\n'.join(lines)

if __name__ == '__main__': main()
