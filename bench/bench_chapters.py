"""How long each chapter of the book takes to read and to run, for the first page's chapter map.

Run time: each chapter of `nbs/sidebar.yml` with code (not the first page, `index.ipynb`) run top to bottom by `nbdev-test --n-workers 1 --flags slow` (slow cells
included, as in Jupyter), one after the other in sidebar order, in a fresh process each, all sharing one fresh cache
folder (`$EMOTION_CACHE_DIR`): what a new reader meets who runs the chapters in order after `make demo`.
First: `emotion-nbdev demo-models` into a fresh models folder, timed (what the first `make demo` does before it
serves: the three trainable models on the embedded synthetic data); the chapters then find those models
(`$EMOTION_MODELS_DIR`). Wall-clock seconds of each whole process (Python start-up included).
Read time: an estimate, not a measurement: the words of the prose at 200 words a minute plus the lines of shown code
(cells not marked `#| hide`) at 20 lines a minute.
With `--merge`, only the `--only` notebooks are run again (after a fresh `demo-models`, which the chapters need) and
their rows replace those of the results file, whose text then says which rows were re-run, when, and under what load.
Usage: python bench/bench_chapters.py [--only NB ...] [--merge] [--markdown bench/RESULTS_chapters.md]
"""
import os
for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(v, '1')
os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
import argparse, datetime, json, platform, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path
import yaml

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'
BIN = Path(sys.executable).parent
PROSE_WPM, CODE_LPM = 200, 20

def sidebar_notebooks()->list[str]:
    "The notebooks of the docs sidebar, in its order."
    def walk(items):
        for it in items:
            if isinstance(it, str): yield it
            else: yield from walk(it.get('contents', []))
    return list(walk(yaml.safe_load((NBS/'sidebar.yml').read_text())['website']['sidebar']['contents']))

def reading(nb_name:str)->dict:
    "Title, prose words, shown code lines and estimated reading minutes of one notebook."
    cells = json.loads((NBS/nb_name).read_text())['cells']
    md = [''.join(c['source']) for c in cells if c['cell_type'] == 'markdown']
    code = [''.join(c['source']) for c in cells if c['cell_type'] == 'code']
    title = next(l[2:].strip() for m in md for l in m.splitlines() if l.startswith('# '))
    words = sum(len(m.split()) for m in md)
    hidden = lambda src: any(l.strip().replace(' ', '') in ('#|hide', '#|include:false') for l in src.splitlines())
    lines = sum(1 for s in code if not hidden(s) for l in s.splitlines() if l.strip() and not l.startswith('#|'))
    return dict(title=title, words=words, code_lines=lines, read_min=words/PROSE_WPM + lines/CODE_LPM)

def has_code(nb_name:str)->bool:
    "Whether a notebook has code cells to run (the first page and the reports appendix have none worth timing)."
    return nb_name != 'index.ipynb' and any(c['cell_type'] == 'code' for c in json.loads((NBS/nb_name).read_text())['cells'])

def run_notebook(nb_name:str, env:dict, timeout:int)->dict:
    "Wall-clock seconds of `nbdev-test` on one notebook, and whether it passed."
    t0 = time.perf_counter()
    try:
        r = subprocess.run([str(BIN/'nbdev-test'), '--n-workers', '1', '--flags', 'slow', nb_name], cwd=NBS, env=env,
                           capture_output=True, text=True, timeout=timeout)
        out = r.stdout + '\n' + r.stderr
        named = [l for l in out.splitlines() if re.search(r'\w+(Error|Exception|Timeout)\b', l)]  # the exception, when one is named
        ok, err = r.returncode == 0, (named[-1] if named else out[-400:])
    except subprocess.TimeoutExpired: ok, err = False, f'timed out after {timeout} s'
    return dict(run_s=time.perf_counter() - t0, passed=ok, error='' if ok else ' '.join(err.split())[-200:].replace('|', '/'))

def train_demo_models(env:dict, timeout:int)->dict:
    "Wall-clock seconds of `emotion-nbdev demo-models` into `$EMOTION_MODELS_DIR` (fresh), and whether it passed."
    t0 = time.perf_counter()
    r = subprocess.run([str(BIN/'emotion-nbdev'), 'demo-models', '--quiet'], env=env, capture_output=True, text=True, timeout=timeout)
    return dict(run_s=time.perf_counter() - t0, passed=r.returncode == 0, error=' '.join((r.stderr or r.stdout).split())[-200:])

def load()->float: return os.getloadavg()[0]

def commit()->str:
    r = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(['git', 'status', '--porcelain', 'nbs', 'emotion_nbdev'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return r.stdout.strip() + (' with uncommitted changes in nbs/ or emotion_nbdev/' if dirty else '')

def about_min(minutes:float)->str:
    "Minutes for the chapter map: under 1 as '<1', else rounded to a whole minute."
    return '<1' if minutes < 1 else str(round(minutes))

def markdown(rows:list[dict], head:str)->str:
    t = ['| chapter | notebook | prose words | code lines | read (min, estimate) | run (s) | run (min) | passed |',
         '|---|---|---|---|---|---|---|---|']
    t += [f"| {r['title']} | {r['nb']} | {r['words']} | {r['code_lines']} | {about_min(r['read_min'])} | {r['run_s']:.0f} | "
          f"{about_min(r['run_s']/60)} | {'yes' if r['passed'] else 'no: ' + r['error']} |" for r in rows]
    return head + '\n\n' + '\n'.join(t) + '\n'

def merged(old:str, rows:list[dict], start:float, end:float)->str:
    "The results text `old` with the table rows of `rows` replaced, and a line saying so."
    new = {r['nb']: markdown([r], '').splitlines()[-1] for r in rows}
    key = lambda l: l.split('|')[2].strip() if l.startswith('| ') and l.count('|') > 3 else None
    lines = [new.get(key(l), l) for l in old.splitlines()]
    lines += [row for nb, row in new.items() if nb not in set(map(key, lines))]  # chapters new since the last run
    at = next(i for i, l in enumerate(lines) if l.startswith('| chapter'))
    note = (f"Re-run alone on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC (`--only {' '.join(new)} --merge`, "
            f"code at commit {commit()}, load average {start:.1f} at the start and {end:.1f} at the end), the same way: {', '.join(new)}.")
    return '\n'.join(lines[:at] + [note, ''] + lines[at:]) + '\n'

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--only', nargs='*', help='these notebooks only (default: every sidebar notebook)')
    ap.add_argument('--timeout', type=int, default=1800, help='seconds per notebook')
    ap.add_argument('--markdown', help='write the results here')
    ap.add_argument('--merge', action='store_true', help='replace only the rows of the --only notebooks in the --markdown file')
    a = ap.parse_args()
    if a.merge and not (a.only and a.markdown and Path(a.markdown).exists()): ap.error('--merge needs --only and an existing --markdown file')
    nbs = [n for n in sidebar_notebooks() if has_code(n) and (not a.only or n in a.only)]
    cache = tempfile.mkdtemp(prefix='emotion_chapters_')
    env = dict(os.environ, EMOTION_CACHE_DIR=cache, EMOTION_MODELS_DIR=str(Path(cache)/'models'))
    start = load()
    demo = train_demo_models(env, a.timeout)
    print(f"demo-models (first make demo)   run {demo['run_s']:.0f} s  {'ok' if demo['passed'] else 'FAILED ' + demo['error']}", flush=True)
    if not demo['passed']: sys.exit('demo-models failed: ' + demo['error'])
    rows = []
    for nb in nbs:
        rows.append(dict(nb=nb, **reading(nb), **run_notebook(nb, env, a.timeout)))
        r = rows[-1]
        print(f"{nb:32s} read ~{r['read_min']:.1f} min  run {r['run_s']:.0f} s  {'ok' if r['passed'] else 'FAILED ' + r['error']}", flush=True)
    end = load()
    shutil.rmtree(cache, ignore_errors=True)
    shared = (': above the core count, the machine was shared with other work, and every run time here is longer than on '
              'an idle machine' if max(start, end) > os.cpu_count() else '')
    head = '\n\n'.join([
        '# Reading and running each chapter',
        f"Command: `python bench/bench_chapters.py --markdown bench/RESULTS_chapters.md` (one run), code at commit {commit()}. "
        f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. Machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, one BLAS thread per process. Load average (1 min) {start:.1f} at the start and {end:.1f} "
        f"at the end{shared}.",
        "First row: the demo's first start (`make demo` trains its three trainable models on the embedded synthetic data "
        "before it serves), timed as `emotion-nbdev demo-models` into a fresh models folder.",
        "Run: each chapter by `nbdev-test --n-workers 1 --flags slow` (slow cells included, as in Jupyter), one after the "
        "other in sidebar order, a fresh process each, sharing one fresh cache folder (feature caches start cold) and the "
        "demo models just trained, as after a first `make demo`. Wall-clock seconds of the whole process, Python start-up included.",
        f"Read: an estimate, not a measurement: prose words at {PROSE_WPM} words a minute plus shown code lines (cells not "
        f"hidden) at {CODE_LPM} lines a minute; the first page rounds both to whole minutes."])
    if a.merge: text = merged(Path(a.markdown).read_text(), rows, start, end)
    else: text = markdown([dict(title="The demo's first start", nb='demo-models', words=0, code_lines=0, read_min=0, **demo)] + rows, head)
    print(text)
    if a.markdown: Path(a.markdown).write_text(text)

if __name__ == '__main__': main()
