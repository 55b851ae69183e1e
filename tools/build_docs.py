"""Build the docs site into _docs/ from the notebooks' saved outputs, offline.

`nbdev-proc-nbs` turns nbs/ into a Quarto project in _proc/ (show_doc, directives, sidebar); then
`quarto render` when Quarto is on PATH, else `smalldocs render`, which reads the same _quarto.yml.
nbdev would try to download Quarto when it is missing; that step is skipped here (no network needed).
"""
import shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def build(n_workers:int=2)->Path:
    import nbdev.quarto as q
    q._ensure_quarto = lambda: None  # never download Quarto: fall back to smalldocs instead
    cache, cfg, _ = q._pre_docs(str(ROOT/'nbs'), n_workers=n_workers)
    out = ROOT/'_docs'
    if shutil.which('quarto'):
        q.render_quarto(cache, cache/cfg.doc_path.name, n_workers=n_workers)
    else:
        smalldocs = Path(sys.executable).parent/'smalldocs'
        subprocess.run([str(smalldocs), 'render', '--quiet', str(cache)], check=True)
    shutil.rmtree(out, ignore_errors=True)
    shutil.move(str(cache/cfg.doc_path.name), str(out))
    q._fix_quarto_nav(out)
    return out

if __name__ == '__main__':
    out = build()
    print(f'docs site: {out}/index.html ({sum(1 for _ in out.rglob("*.html"))} pages)')
