"The first page (README.md from nbs/index.ipynb): short, its picture and links working from the repository root."
import json, re, sys
from pathlib import Path
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
README = ROOT/'README.md'
LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)\)')

def local_targets(text):
    "Relative link and picture targets of Markdown text, anchors dropped."
    return [t.split('#')[0] for t in LINK.findall(text) if not re.match(r'^([a-z]+:|#)', t)]

def test_first_page_is_short():
    "A newcomer reads it in a minute or two: at most about 900 words, code included."
    words = len(README.read_text().split())
    assert words <= 1000, f'README.md has {words} words'

def test_every_relative_link_and_picture_resolves_from_the_root():
    targets = local_targets(README.read_text())
    assert any(t.startswith('nbs/images/') for t in targets), targets  # the picture
    assert {'nbs/appendix_reports.ipynb', 'nbs/01b_datasets.ipynb', 'bench/RESULTS_real_path.md', 'bench/RESULTS_chapters.md'} <= set(targets), targets
    missing = [t for t in targets if not (ROOT/t).exists()]
    assert not missing, missing

def test_index_links_resolve_from_nbs():
    "The same links as the notebook writes them, seen from nbs/ (Jupyter, the docs site)."
    cells = json.loads((ROOT/'nbs'/'index.ipynb').read_text())['cells']
    text = '\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'markdown')
    missing = [t for t in local_targets(text) if not (ROOT/'nbs'/t).exists()]
    assert local_targets(text) and not missing, missing

def test_pictures_are_light_images():
    for t in local_targets(README.read_text()):
        if t.lower().endswith(('.png', '.jpg', '.jpeg')):
            p = ROOT/t
            assert p.stat().st_size < 400_000, (t, p.stat().st_size)
            with Image.open(p) as im: assert im.format in ('PNG', 'JPEG') and im.width >= 800, (t, im.format, im.size)

def test_first_page_says_how_to_train_on_real_voices():
    text = README.read_text()
    assert 'make demo DATA=ravdess' in text and 'emotion-nbdev download --list' in text

def test_cost_table_lives_in_bench_not_on_the_page():
    "The CREMA-D cost table is linked, not copied: none of its rows on the first page."
    table_rows = [l for l in (ROOT/'bench'/'RESULTS_real_path.md').read_text().splitlines() if l.startswith('| ')]
    assert table_rows and not any(r in README.read_text() for r in table_rows)

def test_appendix_page_is_in_the_sidebar_with_its_departures():
    import yaml
    side = yaml.safe_load((ROOT/'nbs'/'sidebar.yml').read_text())['website']['sidebar']['contents']
    appendix = next(s for s in side if isinstance(s, dict) and s.get('section') == 'Appendix')
    assert 'appendix_reports.ipynb' in appendix['contents']
    nb = json.loads((ROOT/'nbs'/'appendix_reports.ipynb').read_text())
    text = ' '.join(''.join(c['source']) for c in nb['cells'])
    assert 'Augmentation after the split' in text and 'Grouped splits' in text
    assert all(c['cell_type'] == 'markdown' for c in nb['cells'])  # no code: nothing exported

def test_chapter_map_lists_every_chapter():
    "Each chapter that exports a module has its line in the first page's chapter map, linked from the root."
    sys.path.insert(0, str(ROOT/'bench'))
    from bench_chapters import sidebar_notebooks
    links = set(local_targets(README.read_text()))
    exports = lambda n: any(c['cell_type'] == 'code' and ''.join(c['source']).startswith('#| default_exp')
                            for c in json.loads((ROOT/'nbs'/n).read_text())['cells'])
    chapters = [n for n in sidebar_notebooks() if exports(n)]
    assert 'index.ipynb' not in chapters and len(chapters) >= 10, chapters
    assert {f'nbs/{n}' for n in chapters} <= links, {f'nbs/{n}' for n in chapters} - links

def test_chapter_times_come_from_runs_that_passed():
    "The first page shows no time from a chapter run that failed, and the first `make demo` row is there."
    rows = {l.split('|')[2].strip(): l.split('|')[8].strip() for l in (ROOT/'bench'/'RESULTS_chapters.md').read_text().splitlines()
            if l.startswith('| ') and not l.startswith('| chapter')}
    assert rows.get('demo-models') == 'yes' and all(v == 'yes' for v in rows.values()), rows

def test_readme_links_rewritten_for_the_root():
    from readme import from_root, repo_url
    repo = repo_url()
    assert from_root('08_app.ipynb', repo) == 'nbs/08_app.ipynb'
    assert from_root('images/demo_audio.png', repo) == 'nbs/images/demo_audio.png'
    assert from_root('03_audio_model.ipynb#grid', repo) == 'nbs/03_audio_model.ipynb#grid'
    assert from_root(f'{repo}/blob/main/bench/RESULTS_app.md', repo) == 'bench/RESULTS_app.md'
    assert from_root(f'{repo}/tree/main/bench', repo) == 'bench'
    assert from_root('https://zenodo.org/records/1188976', repo) == 'https://zenodo.org/records/1188976'

def test_readme_copies_markdown_outputs_as_markdown(tmp_path):
    from readme import render_readme
    cell = dict(cell_type='code', metadata={}, source=['#| echo: false\n', 'table'],
                outputs=[dict(output_type='execute_result', metadata={}, data={'text/markdown': ['| a |\n|---|\n| [x](08_app.ipynb) |'],
                                                                             'text/plain': ['<Markdown>']})])
    nb = tmp_path/'index.ipynb'
    nb.write_text(json.dumps(dict(cells=[cell], metadata={}, nbformat=4, nbformat_minor=5)))
    text = render_readme(nb)
    assert '| [x](nbs/08_app.ipynb) |' in text and '```' not in text

def test_chapter_bench_reads_lengths_and_merges_reruns(tmp_path, monkeypatch):
    "The chapter bench's reading estimate counts prose and shown code only; a re-run replaces its row, adds new ones, and says so."
    sys.path.insert(0, str(ROOT/'bench'))
    import bench_chapters as bc
    md = lambda s: dict(cell_type='markdown', metadata={}, source=[s])
    code = lambda s: dict(cell_type='code', metadata={}, outputs=[], execution_count=None, source=[s])
    nb = dict(cells=[md('# Title\n\n' + 'word ' * 398), code('#| hide\nhidden = 1\nhidden = 2'), code('#| export\na = 1\nb = 2\n\nc = 3')],
              metadata={}, nbformat=4, nbformat_minor=5)
    (tmp_path/'x.ipynb').write_text(json.dumps(nb))
    monkeypatch.setattr(bc, 'NBS', tmp_path)
    r = bc.reading('x.ipynb')
    assert (r['title'], r['words'], r['code_lines']) == ('Title', 400, 3) and abs(r['read_min'] - (400/200 + 3/20)) < 1e-9
    row = lambda nb, s, ok=True: dict(title=nb, nb=nb, words=1, code_lines=1, read_min=1, run_s=s, passed=ok, error='' if ok else 'ValueError: bad')
    old = bc.markdown([row('a.ipynb', 10), row('b.ipynb', 20, ok=False)], '# Head')
    assert '| no: ValueError: bad |' in old
    new = bc.merged(old, [row('b.ipynb', 30), row('c.ipynb', 40)], 1.0, 2.0)
    rows = [l for l in new.splitlines() if l.startswith('| ') and not l.startswith('| chapter')]
    assert [l.split('|')[2].strip() for l in rows] == ['a.ipynb', 'b.ipynb', 'c.ipynb']
    assert '| 30 |' in rows[1] and rows[1].endswith('| yes |') and 'Re-run alone' in new and 'b.ipynb, c.ipynb' in new
