"""Write README.md from nbs/index.ipynb (the docs home), without Quarto.

Markdown cells are copied; code cells become ```python blocks followed by their saved text output;
cells marked `#| hide` are left out, and `#|` directive lines are dropped.
"""
import json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def _out_text(o):
    if o.get('output_type') == 'stream': return ''.join(o.get('text', ''))
    data = o.get('data', {})
    if 'image/png' in data: return ''  # figures are shown on the docs site, not in the README
    return ''.join(data.get('text/markdown') or data.get('text/plain') or '')

def render_readme(nb_path=ROOT/'nbs'/'index.ipynb'):
    "README text made from the index notebook."
    nb, parts = json.loads(Path(nb_path).read_text()), []
    for c in nb['cells']:
        src = ''.join(c['source'])
        lines = src.splitlines()
        if any(l.strip().replace(' ', '') in ('#|hide', '#|include:false') for l in lines): continue
        if c['cell_type'] == 'markdown':  # chapter links point at the notebooks from the repository root
            parts.append(re.sub(r'\]\((\d\d[a-z]?_\w+\.ipynb)\)', r'](nbs/\1)', src.strip())); continue
        echo = not any(l.strip().replace(' ', '') == '#|echo:false' for l in lines)
        code = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
        if code and echo: parts.append(f'```python\n{code}\n```')
        out = ''.join(_out_text(o) for o in c.get('outputs', [])).strip('\n').rstrip()
        if out: parts.append(f'```\n{out}\n```')
    head = '<!-- Generated from nbs/index.ipynb by tools/readme.py (make readme): edit the notebook, not this file. -->'
    return head + '\n\n' + '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    (ROOT/'README.md').write_text(render_readme())
    print('wrote README.md')
