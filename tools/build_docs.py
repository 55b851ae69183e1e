"""Build the docs site into _docs/ from the notebooks' saved outputs, offline.

Only nbdev's public API is used, so an nbdev upgrade fails here loudly instead of changing the site silently:
1. `refresh_quarto_yml` writes nbs/nbdev.yml from pyproject.toml, and `nbdev-sidebar` the sidebar (a no-op while
   `custom_sidebar = true`);
2. `nbdev.serve.proc_nbs` turns nbs/ into a Quarto project in _proc/ (show_doc, directives, hidden cells) — the
   step of `nbdev-proc-nbs` without its Quarto download (`nbdev-proc-nbs` installs Quarto when it is missing);
3. `quarto render _proc` when Quarto is on PATH, else `smalldocs render _proc`, which reads the same _quarto.yml;
4. the site moves from _proc/_docs to _docs/; on a Quarto site, quarto-nav.js gets its clean-URL regex anchored
   (what `nbdev-docs` does after rendering, see `fix_quarto_nav`).
The package (`emotion_nbdev/`, its `_modidx.py` included) is never written: `make export` does that.
"""
import os, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# Quarto's quarto-nav.js turns every "/index.html" in a link into "/", which breaks the `index.html.md`
# alternate-format links (quarto-dev/quarto-cli#14667); anchored, it only rewrites a trailing index.html.
NAV_BUG = r'.replace(/\/index\.html/, "/")'
NAV_FIX = r'.replace(/\/index\.html(?=[?#]|$)/, "/")'

def fix_quarto_nav(site:Path)->bool:
    "Anchor the clean-URL regex of a Quarto site's quarto-nav.js; True when the file was changed."
    js = Path(site)/'site_libs'/'quarto-nav'/'quarto-nav.js'
    if not js.exists(): return False
    text = js.read_text()
    if NAV_BUG not in text: return False
    js.write_text(text.replace(NAV_BUG, NAV_FIX))
    return True

def stage(n_workers:int=2)->Path:
    "nbs/ -> the Quarto project _proc/, with nbdev's public functions only."
    from nbdev.config import get_config
    from nbdev.quarto import refresh_quarto_yml
    from nbdev.serve import proc_nbs
    nbs = get_config(ROOT).nbs_path
    # nbdev's workers call get_config() from the working directory (it searches upwards), and the cells they run
    # for show_doc read files relative to it: from nbs/ they see the paths `nbdev-test` and Jupyter see
    os.chdir(nbs)
    refresh_quarto_yml()
    subprocess.run([str(BIN/'nbdev-sidebar')], cwd=nbs, check=True)
    cache = Path(proc_nbs(str(nbs), n_workers=n_workers))
    if not (cache/'_quarto.yml').exists(): sys.exit(f'nbdev.serve.proc_nbs left no _quarto.yml in {cache.name}/')
    return cache

def render(cache:Path)->str:
    "Render the _proc project into its output-dir; the renderer used."
    if shutil.which('quarto'):
        subprocess.run(['quarto', 'render', '.', '--no-cache'], cwd=cache, check=True)
        return 'quarto'
    subprocess.run([str(BIN/'smalldocs'), 'render', '--quiet', '.'], cwd=cache, check=True)
    return 'smalldocs'

def build(n_workers:int=2)->Path:
    "Build the docs site into _docs/ and return its folder."
    from nbdev.config import get_config
    cache, doc_path = stage(n_workers), get_config(ROOT).doc_path
    built, out = cache/doc_path.name, ROOT/doc_path.name
    shutil.rmtree(built, ignore_errors=True)
    renderer = render(cache)
    if not (built/'index.html').exists(): sys.exit(f'{renderer} wrote no {cache.name}/{doc_path.name}/index.html')
    shutil.rmtree(out, ignore_errors=True)
    shutil.move(str(built), str(out))
    fix_quarto_nav(out)
    return out

if __name__ == '__main__':
    out = build()
    print(f'docs site: {out.relative_to(ROOT)}/index.html ({sum(1 for _ in out.rglob("*.html"))} pages)')
