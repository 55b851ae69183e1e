"Project hygiene that `make test` relies on: README from index.ipynb, and the sync check catching drift."
import shutil, subprocess, sys
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

def test_dockerfile_runs_the_tested_path():
    "No Docker engine here: the image's steps must be the Makefile targets the tests and CI run."
    d, mk = (ROOT/'Dockerfile').read_text(), (ROOT/'Makefile').read_text()
    assert 'RUN make models' in d and 'CMD ["make", "demo", "HOST=0.0.0.0", "PORT=7860"]' in d
    assert 'USER app' in d and 'EXPOSE 7860' in d and 'HEALTHCHECK' in d and "127.0.0.1:7860/api/health" in d
    assert '$(BIN)/emotion-nbdev serve --host $(HOST) --port $(PORT)' in mk and '$(BIN)/emotion-nbdev demo-models' in mk
    dry = subprocess.run(['make', '-n', 'demo', 'HOST=0.0.0.0', 'PORT=7860'], cwd=ROOT, capture_output=True, text=True)
    assert '.venv/bin/emotion-nbdev serve --host 0.0.0.0 --port 7860' in dry.stdout
