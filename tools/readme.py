"""Write README.md from nbs/index.ipynb (the docs home), without Quarto.

Markdown cells are copied; code cells become ```python blocks followed by their saved text output;
cells marked `#| hide` are left out, and `#|` directive lines are dropped.
"""
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def _out_text(o):
    if o.get('output_type') == 'stream': return ''.join(o.get('text', ''))
    data = o.get('data', {})
    return ''.join(data.get('text/markdown') or data.get('text/plain') or '')

def render_readme(nb_path=ROOT/'nbs'/'index.ipynb'):
    "README text made from the index notebook."
    nb, parts = json.loads(Path(nb_path).read_text()), []
    for c in nb['cells']:
        src = ''.join(c['source'])
        lines = src.splitlines()
        if any(l.strip().replace(' ', '') in ('#|hide', '#|include:false') for l in lines): continue
        if c['cell_type'] == 'markdown': parts.append(src.strip()); continue
        code = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
        if code: parts.append(f'```python\n{code}\n```')
        out = ''.join(_out_text(o) for o in c.get('outputs', [])).strip()
        if out: parts.append(f'```\n{out}\n```')
    head = '<!-- Generated from nbs/index.ipynb by tools/readme.py (make readme): edit the notebook, not this file. -->'
    return head + '\n\n' + '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    (ROOT/'README.md').write_text(render_readme())
    print('wrote README.md')
