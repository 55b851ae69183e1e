"""Fail when the package, the README or the notebooks' cleanliness is out of step with the notebooks.

1. `nbdev-export` must not change `emotion_nbdev/` (modules are generated, never edited by hand);
2. `nbdev-clean` must not change `nbs/` (no execution counts or stray metadata committed);
3. `README.md` must equal what `tools/readme.py` makes from `nbs/index.ipynb`.
A failed check leaves the regenerated files in place, ready to review and commit.
"""
import hashlib, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

def snapshot(folder, pattern):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((ROOT/folder).rglob(pattern))
            if '.ipynb_checkpoints' not in p.parts and '__pycache__' not in p.parts}

def changed(before, after):
    return sorted(str(p.relative_to(ROOT)) for p in set(before) | set(after) if before.get(p) != after.get(p))

def run_check(name, folder, pattern, cmd, hint):
    before = snapshot(folder, pattern)
    subprocess.run(cmd, cwd=ROOT, check=True)
    diff = changed(before, snapshot(folder, pattern))
    if diff: print(f'FAIL {name}: {hint}\n' + '\n'.join(f'  {f}' for f in diff))
    else: print(f'ok   {name}')
    return not diff

def main():
    ok = run_check('export', 'emotion_nbdev', '*.py', [str(BIN/'nbdev-export')],
                   'nbdev-export changed the package: edit the notebooks, never emotion_nbdev/*.py; commit the export')
    ok &= run_check('clean', 'nbs', '*.ipynb', [str(BIN/'nbdev-clean')],
                    'notebooks were not clean; nbdev-clean has cleaned them: commit them')
    sys.path.insert(0, str(ROOT/'tools'))
    from readme import render_readme
    want = render_readme()
    if (ROOT/'README.md').read_text() != want:
        (ROOT/'README.md').write_text(want)
        print('FAIL readme: README.md was not made from nbs/index.ipynb; it has been regenerated: commit it')
        ok = False
    else: print('ok   readme')
    sys.exit(0 if ok else 1)

if __name__ == '__main__': main()
