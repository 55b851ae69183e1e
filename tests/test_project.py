"Project hygiene that `make test` relies on: README from index.ipynb, and the sync check catching drift."
import json, re, shlex, shutil, subprocess, sys, tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))

def test_readme_is_generated_from_index():
    from readme import render_readme
    assert (ROOT/'README.md').read_text() == render_readme()

def test_readme_quotes_the_two_commands():
    text = (ROOT/'README.md').read_text()
    assert 'make demo' in text and 'make test' in text

def copy_project(dst):
    for name in ('nbs', 'emotion_nbdev', 'tools'):
        shutil.copytree(ROOT/name, dst/name, ignore=shutil.ignore_patterns('__pycache__', 'data'))
    for name in ('pyproject.toml', 'README.md'): shutil.copy(ROOT/name, dst/name)
    return dst

def check(dst):
    return subprocess.run([sys.executable, str(dst/'tools'/'check_sync.py')], capture_output=True, text=True, cwd=dst, timeout=300)

def test_sync_check_passes_then_catches_hand_edits(tmp_path):
    dst = copy_project(tmp_path)
    r = check(dst)
    assert r.returncode == 0, r.stdout + r.stderr
    core = dst/'emotion_nbdev'/'core.py'
    core.write_text(core.read_text().replace("SEED = 42", "SEED = 7"))
    r = check(dst)
    assert r.returncode == 1 and 'FAIL export' in r.stdout and 'emotion_nbdev/core.py' in r.stdout
    assert 'SEED = 42' in core.read_text()  # the export restored the notebook's version

def test_sync_check_catches_unclean_notebooks(tmp_path):
    import json
    dst = copy_project(tmp_path)
    nb = dst/'nbs'/'00_core.ipynb'
    d = json.loads(nb.read_text())
    next(c for c in d['cells'] if c['cell_type'] == 'code')['execution_count'] = 7
    nb.write_text(json.dumps(d))
    r = check(dst)
    assert r.returncode == 1 and 'FAIL clean' in r.stdout and 'nbs/00_core.ipynb' in r.stdout

def dockerfile():
    "The Dockerfile's instructions as (KEYWORD, argument) pairs, continuation lines joined, comments dropped."
    text = re.sub(r'\\\n', ' ', (ROOT/'Dockerfile').read_text())
    return [(l.split(None, 1)[0].upper(), l.split(None, 1)[1].strip()) for l in map(str.strip, text.splitlines()) if l and not l.startswith('#')]

def dry_run(argv):
    "The commands `make` would run for `argv` (a make command line) from a fresh checkout: `-n -B` prints every step."
    assert argv[0] == 'make', argv
    r = subprocess.run(['make', '-n', '-B', *argv[1:]], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return [shlex.split(l) for l in r.stdout.splitlines() if l.strip() and not l.lstrip().startswith('#')]

def pip_installs(cmds):
    "The requirement arguments of every `pip install` in `cmds`, `-e` kept, other options and their values dropped."
    out = []
    for c in cmds:
        if len(c) > 2 and c[0].endswith('/pip') and c[1] == 'install':
            args, skip = [], False
            for a in c[2:]:
                if skip: skip = False
                elif a in ('-c', '--constraint', '-r'): skip = True
                elif a in ('-e', '--editable'): args.append('-e')
                elif not a.startswith('-'): args.append(a)
            out.append(args)
    return out

def test_dockerfile_runs_the_tested_path():
    "No Docker engine here: the image runs Makefile targets the tests run, and those install the runtime set only."
    steps = dockerfile()
    runs = [shlex.split(a) for k, a in steps if k == 'RUN' and a.startswith('make')]
    cmd = json.loads(next(a for k, a in steps if k == 'CMD'))
    assert runs == [['make', 'models']] and cmd == ['make', 'demo', 'HOST=0.0.0.0', 'PORT=7860'], (runs, cmd)
    assert not [a for k, a in steps if k == 'RUN' and re.search(r'\bpip\b', a)], 'every install goes through the Makefile'
    assert ('USER', 'app') in steps and ('EXPOSE', '7860') in steps
    assert any(k == 'HEALTHCHECK' and '127.0.0.1:7860/api/health' in a for k, a in steps)
    for argv in [*runs, cmd]:
        cmds = dry_run(argv)
        assert pip_installs(cmds)[-1:] == [['-e', '.']], (argv, pip_installs(cmds))  # the package, no extras
        assert not [a for i in pip_installs(cmds) for a in i if '[' in a], argv  # no extras anywhere
        assert not [c for c in cmds if Path(c[0]).name in ('jupyter', 'playwright', 'nbdev-test', 'nbdev-export')], argv
    assert ['.venv/bin/emotion-nbdev', 'demo-models', '--quiet'] in dry_run(runs[0])
    # the build context (.dockerignore: everything out, then what the install reads back in) holds the runtime install's inputs
    ignore = [l.strip() for l in (ROOT/'.dockerignore').read_text().splitlines() if l.strip() and not l.startswith('#')]
    context = {l[1:] for l in ignore if l.startswith('!')}
    project = tomllib.loads((ROOT/'pyproject.toml').read_text())['project']
    assert ignore[0] == '*' and {'Makefile', 'constraints.txt', 'pyproject.toml', project['readme'], 'emotion_nbdev'} <= context, context
    assert not context & {'nbs', 'tests', 'tools', '.venv', 'bench'}, context
    assert ['.venv/bin/emotion-nbdev', 'serve', '--host', '0.0.0.0', '--port', '7860'] in dry_run(cmd)
    # the same parser sees the dev set where it is installed: the split is real
    assert ['-e', '.[dev]'] in pip_installs(dry_run(['make', 'test']))

def requirement_closure(reqs):
    "Canonical names of `reqs` and everything they require (no extras), read from the installed metadata."
    from importlib.metadata import requires
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    seen, todo = set(), [Requirement(r) for r in reqs]
    while todo:
        r = todo.pop()
        if canonicalize_name(r.name) in seen: continue
        seen.add(canonicalize_name(r.name))
        todo += [q for q in map(Requirement, requires(r.name) or []) if not q.marker or q.marker.evaluate({'extra': ''})]
    return seen

def test_runtime_set_has_no_dev_package():
    "The image's Python environment (pyproject's dependencies and theirs) carries none of the dev tools."
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    project = tomllib.loads((ROOT/'pyproject.toml').read_text())['project']
    dev = {canonicalize_name(Requirement(r).name) for r in project['optional-dependencies']['dev']}
    runtime = requirement_closure(project['dependencies'])
    # pyyaml and psutil are runtime dependencies of gradio/distributed; the tests import them directly too
    assert runtime & dev == {'pyyaml', 'psutil'}, runtime & dev
    assert not runtime & {'ipython', 'ipykernel', 'jupyter-server', 'nbformat', 'pytest', 'fastcore'}
    assert len(runtime) < len(requirement_closure(project['dependencies'] + project['optional-dependencies']['dev']))

def test_lab_news_prompt_is_off():
    "The dev install turns JupyterLab's news prompt off in the venv `make lab` runs, by a plugin id this JupyterLab has."
    disable = [c for c in dry_run(['make', 'test']) if Path(c[0]).name == 'jupyter' and c[1:3] == ['labextension', 'disable']]
    assert [c[0] for c in disable] == ['.venv/bin/jupyter'] and '--level=sys_prefix' in disable[0], disable
    plugin = disable[0][-1]
    assert plugin == '@jupyterlab/apputils-extension:announcements', plugin
    static = Path(sys.executable).parent.parent/'share'/'jupyter'/'lab'/'static'
    assert any(f'"{plugin}"' in p.read_text(errors='ignore') for p in static.glob('*.js')), f'{plugin}: no such plugin in this JupyterLab'
    lab = [c for c in dry_run(['make', 'lab']) if c[:3] == ['.venv/bin/jupyter', 'lab', 'nbs']]
    assert len(lab) == 1 and '--allow-root' in ' '.join(lab[0]), lab  # the same venv; as root (CI, containers) Jupyter needs --allow-root

NBS = sorted((ROOT/'nbs').glob('*.ipynb'))

def test_notebooks_stay_light():
    "The book's weight: all notebooks together at most 3 MB, none over 1 MB (figures as compact PNG/JPEG, no widget residue)."
    sizes = {p.name: p.stat().st_size for p in NBS}
    assert sum(sizes.values()) <= 3_000_000 and max(sizes.values()) < 1_000_000, sizes

def test_export_cells_are_short():
    "No wall of code: every exported cell is at most 45 lines (the chapters explain code in small pieces)."
    long = [(p.name, i, len(''.join(c['source']).splitlines())) for p in NBS for i, c in enumerate(json.loads(p.read_text())['cells'])
            if c['cell_type'] == 'code' and ''.join(c['source']).startswith('#| export') and len(''.join(c['source']).splitlines()) > 45]
    assert not long, long

def test_stored_outputs_are_quiet_and_portable():
    "No warnings and no machine paths in what the chapters show, so that a rerun elsewhere gives the same notebook."
    bad = re.compile(r'(/root/|/home/|/work/|/tmp/|site-packages|Warning:)')
    found = []
    for p in NBS:
        for i, c in enumerate(json.loads(p.read_text())['cells']):
            for o in c.get('outputs', []):
                text = ''.join(o.get('text', '')) + ''.join(o.get('data', {}).get('text/plain', '')) + ''.join(o.get('data', {}).get('text/markdown', ''))
                if o.get('name') == 'stderr' or bad.search(text): found.append((p.name, i, (bad.search(text) or [o.get('name')])[0]))
    assert not found, found
