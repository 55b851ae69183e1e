"""Write README.md from nbs/index.ipynb (the docs home), without Quarto.

Markdown cells are copied; code cells become ```python blocks followed by their saved text output (a Markdown
output, such as a table, is copied as Markdown); cells marked `#| hide` are left out, and `#|` directive lines are
dropped. Links and pictures are made to work from the repository root, where README.md lives: a relative target
(`08_app.ipynb`, `images/demo_audio.png`) is resolved from `nbs/`, and a link to this repository's own files on
GitHub (`.../blob/main/bench/X.md`, `.../tree/main/bench`) becomes the relative path, so it works in any clone or fork.
"""
import json, posixpath, re, tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r'(\]\()([^)\s]+)(\))')

def repo_url()->str:
    "The repository URL of `pyproject.toml` (`[project.urls] Repository`), without a trailing slash."
    return tomllib.loads((ROOT/'pyproject.toml').read_text())['project']['urls']['Repository'].rstrip('/')

def from_root(target:str, repo:str)->str:
    "A link target written for a page in nbs/, rewritten for README.md at the repository root."
    for kind in ('blob', 'tree'):
        prefix = f'{repo}/{kind}/main/'
        if target.startswith(prefix): return target[len(prefix):] or '.'
    if re.match(r'^([a-z]+:|#|/)', target): return target  # absolute URLs, anchors and site paths stay
    path, sep, anchor = target.partition('#')
    return posixpath.normpath(posixpath.join('nbs', path)) + sep + anchor

def fix_links(text:str, repo:str)->str:
    "Every Markdown link and picture in `text` made to work from the repository root."
    return LINK.sub(lambda m: m.group(1) + from_root(m.group(2), repo) + m.group(3), text)

def _out_text(o):
    if o.get('output_type') == 'stream': return ''.join(o.get('text', ''))
    data = o.get('data', {})
    if 'image/png' in data: return ''  # figures are shown on the docs site, not in the README
    return ''.join(data.get('text/markdown') or data.get('text/plain') or '')

def _is_markdown(o): return 'text/markdown' in o.get('data', {})

def render_readme(nb_path=ROOT/'nbs'/'index.ipynb'):
    "README text made from the index notebook."
    nb, parts, repo = json.loads(Path(nb_path).read_text()), [], repo_url()
    for c in nb['cells']:
        src = ''.join(c['source'])
        lines = src.splitlines()
        if any(l.strip().replace(' ', '') in ('#|hide', '#|include:false') for l in lines): continue
        if c['cell_type'] == 'markdown':
            parts.append(fix_links(src.strip(), repo)); continue
        echo = not any(l.strip().replace(' ', '') == '#|echo:false' for l in lines)
        code = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
        if code and echo: parts.append(f'```python\n{code}\n```')
        outs = c.get('outputs', [])
        out = ''.join(_out_text(o) for o in outs).strip('\n').rstrip()
        if out and outs and all(map(_is_markdown, outs)): parts.append(fix_links(out, repo))
        elif out: parts.append(f'```\n{out}\n```')
    head = '<!-- Generated from nbs/index.ipynb by tools/readme.py (make readme): edit the notebook, not this file. -->'
    return head + '\n\n' + '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    (ROOT/'README.md').write_text(render_readme())
    print('wrote README.md')
