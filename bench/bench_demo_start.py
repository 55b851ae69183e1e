"""`make demo` from cold: seconds from `emotion-nbdev serve` until `GET /api/health` answers, with an empty models folder and an empty cache.

Each run gets fresh temporary folders for $EMOTION_MODELS_DIR and $EMOTION_CACHE_DIR, so the server trains the three demo
models on the embedded synthetic data, loads them, warms up and starts; the pip install of a fresh machine is not part of
it (the venv is this checkout's). Two ways, run in alternating order (`--repeats` each):
- ours: `emotion-nbdev serve`, which trains the missing models at once, in up to one process per core;
- the reference: the same `serve` with `TrainingData(parallel=False)`: the models trained in turn, the way before.
Per run: seconds to the first healthy answer, the CPU seconds of the server's whole process tree (trainers and audio
workers included, read with wait4 when it exits), what the server's log says each model took, the warm-up, and the held-out
metrics of every model card (`GET /api/models`), which must be the same both ways (same data, same seeds).
Usage: python bench/bench_demo_start.py [--repeats 1] [--markdown bench/RESULTS_demo_start.md]
"""
import argparse, json, os, platform, re, signal, socket, subprocess, sys, tempfile, threading, time
from pathlib import Path
import httpx

REFERENCE = 'from emotion_nbdev.app import serve, TrainingData; serve(port={port}, data=TrainingData(parallel=False))'

def cold_start(reference:bool, limit:float=900):
    "One cold start: (seconds to healthy, CPU seconds of the process tree, log lines, the model cards' metrics)."
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix='emotion-cold-') as d:
        env = {**os.environ, 'EMOTION_MODELS_DIR': f'{d}/models', 'EMOTION_CACHE_DIR': f'{d}/cache', 'GRADIO_ANALYTICS_ENABLED': 'False'}
        cmd = [sys.executable, '-c', REFERENCE.format(port=port)] if reference else [str(Path(sys.executable).parent/'emotion-nbdev'), 'serve', '--port', str(port)]
        t0, lines = time.perf_counter(), []
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        reader = threading.Thread(target=lambda: lines.extend(p.stdout), daemon=True); reader.start()
        try:
            while time.perf_counter() - t0 < limit:
                try:
                    if httpx.get(f'http://127.0.0.1:{port}/api/health', timeout=1).status_code == 200: break
                except httpx.HTTPError: time.sleep(0.2)
                if p.poll() is not None: raise SystemExit(f'the server stopped:\n{"".join(lines[-20:])}')
            else: raise SystemExit(f'no healthy answer in {limit:g} s:\n{"".join(lines[-20:])}')
            seconds = time.perf_counter() - t0
            cards = httpx.get(f'http://127.0.0.1:{port}/api/models', timeout=30).json()
        finally:
            p.send_signal(signal.SIGTERM)
            _, status, usage = os.wait4(p.pid, 0)  # the tree's CPU: the server and every child it waited for
            p.returncode = os.waitstatus_to_exitcode(status); reader.join(10)
    metrics = {k: c['metrics'] for k, c in cards.items() if k != 'fer2013'}
    return seconds, usage.ru_utime + usage.ru_stime, lines, metrics

def parts(lines):
    "What the log says: seconds per trained model and of the warm-up."
    out = {m.group(1): float(m.group(2)) for l in lines if (m := re.search(r'\] (\w+) model ready in ([\d.]+) s', l))}
    warm = [float(m.group(1)) for l in lines if (m := re.search(r'warm-up took ([\d.]+) s', l))]
    return {**out, 'warm-up': warm[0] if warm else float('nan')}

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=1, help='cold starts per way')
    ap.add_argument('--markdown')
    a = ap.parse_args()
    runs = []
    for r in range(a.repeats):
        for reference in ((True, False) if r % 2 == 0 else (False, True)):
            load0 = os.getloadavg()[0]
            seconds, cpu, lines, metrics = cold_start(reference)
            runs.append(dict(way='reference' if reference else 'ours', seconds=seconds, cpu=cpu, parts=parts(lines), metrics=metrics, load=(load0, os.getloadavg()[0])))
            print(runs[-1]['way'], f'{seconds:.1f} s, {cpu:.1f} CPU s', runs[-1]['parts'], 'load', runs[-1]['load'], flush=True)
    mean = {w: sum(r['seconds'] for r in runs if r['way'] == w)/a.repeats for w in ('ours', 'reference')}
    same = all(r['metrics'] == runs[0]['metrics'] for r in runs)
    lines = ['# Demo start from cold', '',
             f'Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. Command: `python bench/bench_demo_start.py --repeats {a.repeats}`. '
             'From an empty models folder and an empty cache ($EMOTION_MODELS_DIR, $EMOTION_CACHE_DIR: fresh temporary folders per run) to the first '
             '`GET /api/health` that answers 200: train the three demo models on the embedded synthetic data, load them, warm up, start. '
             "Installing the packages (pip) on a fresh machine is not part of it. *Ours*: `emotion-nbdev serve` (the missing models train at once, in up to "
             "one process per core); *reference*: `serve(data=TrainingData(parallel=False))`, the models trained in turn, the way before. "
             'Runs in alternating order; each row gives the 1-minute load average at its start and end (2 cores: other work on the machine stretches the times). '
             "*CPU s*: user + system seconds of the server's whole process tree, start to exit (the trainers' and audio workers' processes included); "
             "on an idle 2-core machine the wall time of training at once approaches half of it, on a shared one the other work takes its share first.", '',
             '| way | seconds to healthy | CPU s | audio model s | landmarks model s | cnn model s | warm-up s | load start / end |', '|---|---|---|---|---|---|---|---|']
    for r in runs:
        p = r['parts']
        lines.append(f"| {r['way']} | **{r['seconds']:.1f}** | {r['cpu']:.0f} | {p.get('audio', float('nan')):.1f} | {p.get('landmarks', float('nan')):.1f} | "
                     f"{p.get('cnn', float('nan')):.1f} | {p['warm-up']:.1f} | {r['load'][0]:.1f} / {r['load'][1]:.1f} |")
    lines += ['', f"Mean seconds to healthy: ours {mean['ours']:.1f}, reference {mean['reference']:.1f}: reference / ours **{mean['reference']/mean['ours']:.2f}x**; "
              f"goal: under 120 s ({'met' if mean['ours'] < 120 else 'not met'} on this run). The per-model seconds are each model's own wall time "
              "(at once, they overlap).", '',
              f"Held-out metrics of the three trained model cards, identical in every run: **{'yes' if same else 'no'}**.", '',
              '| model | ' + ' | '.join(cols := list(dict.fromkeys(c for m in runs[0]['metrics'].values() for c in m))) + ' |', '|---|' + '---|'*len(cols)]
    for k, m in runs[0]['metrics'].items():
        lines.append(f'| {k} | ' + ' | '.join('-' if m.get(c) is None else f'{m[c]:.4f}' for c in cols) + ' |')
    if not same: lines += ['', 'Differences: ' + json.dumps([dict(way=r['way'], metrics=r['metrics']) for r in runs])]
    text = '\n'.join(lines) + '\n'
    print(text)
    if a.markdown: Path(a.markdown).write_text(text)

if __name__ == '__main__': main()
