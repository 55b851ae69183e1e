"""The docs site builds offline into _docs/, and headless Chromium sees every chapter: its title, its prose,
and its rendered figures. Expectations come from the notebooks themselves, so a new chapter is checked too."""
import functools, http.server, json, re, subprocess, sys, threading
from pathlib import Path
import pytest
import yaml
from conftest import require_tool

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'
SHOTS = ROOT/'artifacts'/'screenshots'
SMART_QUOTES = str.maketrans({'\u2018': "'", '\u2019': "'", '\u201c': '"', '\u201d': '"'})

def sidebar_notebooks():
    def walk(items):
        for it in items:
            if isinstance(it, str): yield it
            else: yield from walk(it.get('contents', []))
    return list(walk(yaml.safe_load((NBS/'sidebar.yml').read_text())['website']['sidebar']['contents']))

def expectations(nb_name):
    nb = json.loads((NBS/nb_name).read_text())
    md = [''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'markdown']
    title = next(re.match(r'#\s+(.+)', l).group(1).strip() for m in md for l in m.splitlines() if re.match(r'#\s+\S', l))
    plain = [s for m in md for s in re.split(r'(?<=[.:!?])\s+', ' '.join(m.split()))
             if len(s.split()) >= 8 and not re.search(r'[`*_\[\]<>|#()]', s)]
    figures = sum('image/png' in o.get('data', {}) for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', []))
    return title, plain[0], figures

@pytest.fixture(scope='module')
def site():
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py')], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    docs = ROOT/'_docs'
    assert (docs/'index.html').exists()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(docs))
    handler.log_message = lambda *a: None
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{srv.server_address[1]}'
    srv.shutdown()

@pytest.fixture(scope='module')
def page():
    require_tool('chromium')
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path='/usr/bin/chromium',
                                    args=['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'])
        pg = browser.new_page(viewport={'width': 1280, 'height': 900})
        yield pg
        browser.close()

def test_sidebar_lists_chapters_only(site, page):
    page.goto(site + '/index.html')
    links = page.locator('#quarto-sidebar a[href$=".html"], nav.sidebar a[href$=".html"]')
    texts = [t.strip() for t in links.all_inner_texts() if t.strip()]
    titles = [expectations(nb)[0] for nb in sidebar_notebooks()]
    assert [t for t in texts if t in titles] == titles, texts
    assert not any(re.search(r'\.(ya?ml|toml|css)$|quarto|sidebar', t) for t in texts), texts

@pytest.mark.parametrize('nb', sidebar_notebooks())
def test_every_chapter_renders(site, page, nb):
    title, sentence, figures = expectations(nb)
    page.goto(site + '/index.html')
    if nb != 'index.ipynb':
        page.locator('#quarto-sidebar a, nav.sidebar a').filter(has_text=re.compile(rf'^\s*{re.escape(title)}\s*$')).first.click()
    page.wait_for_load_state('networkidle')
    assert page.locator('h1').first.inner_text().strip() == title
    body = ' '.join(page.locator('main').first.inner_text().split()).translate(SMART_QUOTES)  # the renderer curls quotes
    assert sentence in body, f'{nb}: prose not shown: {sentence!r}'
    imgs = page.locator('main img')
    loaded = page.evaluate("() => [...document.querySelectorAll('main img')].filter(i => i.complete && i.naturalWidth > 0).length")
    assert loaded >= figures and (figures == 0 or imgs.count() >= 1), f'{nb}: {loaded} figures shown, {figures} in the notebook'
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS/f'docs-{Path(nb).stem}.png'), full_page=False)

def test_build_uses_public_nbdev_only():
    "An nbdev upgrade may rename private helpers at will: the build imports and calls none of them."
    import ast
    tree = ast.parse((ROOT/'tools'/'build_docs.py').read_text())
    nbdev_names = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.module or '').startswith('nbdev') for a in n.names}
    assert nbdev_names and not [n for n in nbdev_names if n.startswith('_')], nbdev_names
    private = [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr.startswith('_') and not n.attr.startswith('__')]
    assert private == [], private
    assert 'nbdev.quarto as' not in (ROOT/'tools'/'build_docs.py').read_text()

def test_quarto_nav_fix(tmp_path):
    "What nbdev-docs does to a Quarto site after rendering, done by the build: index.html links to .md pages survive."
    sys.path.insert(0, str(ROOT/'tools'))
    from build_docs import fix_quarto_nav, NAV_BUG
    js = tmp_path/'site_libs'/'quarto-nav'/'quarto-nav.js'
    assert not fix_quarto_nav(tmp_path)  # a smalldocs site has no quarto-nav.js
    js.parent.mkdir(parents=True)
    js.write_text(f'const clean = href{NAV_BUG};')
    assert fix_quarto_nav(tmp_path) and not fix_quarto_nav(tmp_path)
    fixed = re.search(r'replace\(/(.+)/, "/"\)', js.read_text()).group(1).replace('\\/', '/').replace('\\.', '.')
    assert re.sub(fixed, '/', 'a/index.html') == 'a/' and re.sub(fixed, '/', 'a/index.html.md') == 'a/index.html.md'
    assert re.sub(fixed, '/', 'a/index.html#top') == 'a/#top'
