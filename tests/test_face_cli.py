"The face sub-commands of `emotion-nbdev` end to end: sample-faces -> landmarks -> train-landmarks -> predict-face."
import json, subprocess, sys
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage.data import astronaut
from emotion_nbdev.core import EMOTIONS

EXE = str(Path(sys.executable).parent/'emotion-nbdev')

def run(*args):
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, timeout=300)

@pytest.fixture(scope='module')
def faces_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp('cli')/'faces'
    r = run('sample-faces', '--out', out, '--n', '140', '--subjects', '10')
    assert r.returncode == 0, r.stderr
    return out

@pytest.fixture(scope='module')
def model(faces_dir):
    m, rep = faces_dir.parent/'faces.skops', faces_dir.parent/'report.json'
    r = run('train-landmarks', faces_dir/'landmarks.csv', '-o', m, '--report', rep, '--folds', '5')
    assert r.returncode == 0, r.stderr
    assert '140 faces, 10 subjects (synthetic data); split: subject-grouped, 5 folds' in r.stdout
    assert '± ' in r.stdout and 'accuracy' in r.stdout
    return m, json.loads(rep.read_text())

def test_sample_faces_layout(faces_dir):
    t = pd.read_csv(faces_dir/'landmarks.csv')
    assert len(t) == 140 and t.columns[:4].tolist() == ['id', 'target', 'targetName', 'subject'] and t.shape[1] == 140
    assert json.loads((faces_dir/'SYNTHETIC.json').read_text())['synthetic'] is True
    assert sorted(p.name for p in faces_dir.iterdir() if p.is_dir()) == list(EMOTIONS)
    assert sum(len(list((faces_dir/e).glob('*.png'))) for e in EMOTIONS) == 140
    r = run('sample-faces', '--out', faces_dir)
    assert r.returncode == 2 and r.stderr.strip() == f'emotion-nbdev sample-faces: error: {faces_dir} is not empty; choose a new folder'

def test_train_report_keys(model):
    _, rep = model
    for k in ('accuracy', 'macro_f1', 'uar', 'auc_ovr_macro', 'auc_ovr_micro', 'confusion', 'labels', 'split', 'folds', 'best_params', 'search_seconds'):
        assert k in rep, k
    assert rep['split'] == 'subject' and rep['folds'] == 5 and rep['labels'] == list(EMOTIONS) and np.sum(rep['confusion']) == 140
    assert 0.5 < rep['accuracy'] <= 1 and rep['data']['synthetic']

def test_landmarks_from_folder(tmp_path, faces_dir):
    src = tmp_path/'photos'; (src/'happy').mkdir(parents=True)
    Image.fromarray(astronaut()).save(src/'happy'/'collins.jpg')
    for name in sorted((faces_dir/'surprise').glob('*.png'))[:4]: (src/'surprise').mkdir(exist_ok=True); (src/'surprise'/name.name).write_bytes(name.read_bytes())
    (src/'broken.jpg').write_bytes(b'\xff\xd8\xff garbage')
    Image.fromarray(np.zeros((50, 50), np.uint8)).save(src/'black.png')
    out = tmp_path/'out'/'lm.csv'
    r = run('landmarks', src, '-o', out, '-q')
    assert r.returncode == 0, r.stderr
    t = pd.read_csv(out)
    assert t.shape[1] == 140 and 'happiness' in set(t.targetName) and len(t) >= 3
    skipped = pd.read_csv(out.with_name('lm.skipped.csv'))
    reasons = dict(zip(skipped.path.map(lambda p: Path(p).name), skipped.reason))
    assert reasons['black.png'] == 'no face found' and reasons['broken.jpg'].startswith('not a readable image')
    assert 'labelled from folder names' in r.stdout and 'skipped' in r.stdout

def test_landmarks_errors(tmp_path):
    r = run('landmarks', tmp_path/'missing.jpg', '-o', tmp_path/'x.csv')
    assert r.returncode == 2 and r.stderr.strip() == f'emotion-nbdev landmarks: error: {tmp_path/"missing.jpg"} does not exist'
    Image.fromarray(np.zeros((50, 50, 3), np.uint8)).save(tmp_path/'black.png')
    r = run('landmarks', tmp_path/'black.png', '-o', tmp_path/'x.csv', '-q')
    assert r.returncode == 2 and 'no face found in any image' in r.stderr

def test_predict_face_json_batch_goes_on(tmp_path, model):
    Image.fromarray(astronaut()).save(tmp_path/'a.png')
    (tmp_path/'bad.png').write_bytes(b'not an image')
    Image.fromarray(np.full((80, 80, 4), 200, np.uint8)).save(tmp_path/'rgba.png')
    r = run('predict-face', model[0], tmp_path/'a.png', tmp_path/'bad.png', tmp_path/'rgba.png', '--json')
    assert r.returncode == 1, r.stderr
    recs = [json.loads(l) for l in r.stdout.splitlines()]
    assert [Path(x['path']).name for x in recs] == ['a.png', 'bad.png', 'rgba.png']
    face = recs[0]['faces'][0]
    assert set(face) == {'box', 'landmarks', 'emotion', 'probabilities', 'model', 'data', 'face_px'} and len(face['landmarks']) == 68 and face['emotion'] in EMOTIONS
    assert face['data'] == 'synthetic faces'
    assert abs(sum(face['probabilities'].values()) - 1) < 1e-3
    assert 'not a readable image' in recs[1]['error'] and recs[2]['error'] == 'no face found'
    r = run('predict-face', model[0], tmp_path/'a.png')
    assert r.returncode == 0 and r.stdout.startswith(f'{tmp_path/"a.png"}: face 1 at (')

def test_predict_face_default_model_is_trained_on_real_faces(tmp_path):
    "No model argument: the packaged FER2013 network answers, and says what it learned from."
    Image.fromarray(astronaut()).save(tmp_path/'a.png')
    r = run('predict-face', tmp_path/'a.png', '--json')
    assert r.returncode == 0, r.stderr
    face = json.loads(r.stdout)['faces'][0]
    assert (face['model'], face['emotion'], face['data']) == ('fer2013', 'happiness', 'FER2013 (real faces)')
    assert face['probabilities']['happiness'] >= 0.95 and 'landmarks' not in face
    assert 0 <= face['agreement'] <= 1 and isinstance(face['stable'], bool) and face['face_px'] > 50  # how stable the answer is over nine views
    r = run('predict-face', tmp_path/'a.png')
    assert r.returncode == 0 and 'happiness' in r.stdout and 'trained on FER2013 (real faces)' in r.stdout

def test_predict_face_bad_models(tmp_path, faces_dir):
    (tmp_path/'m.keras').write_text('x')
    r = run('predict-face', tmp_path/'m.keras', 'a.png')
    assert r.returncode == 2 and 'no metadata file m.keras.json beside it' in r.stderr
    (tmp_path/'m.h5').write_text('x')
    r = run('predict-face', tmp_path/'m.h5', 'a.png')
    assert r.returncode == 2 and 'expected a .skops landmark model or a .keras CNN' in r.stderr
    (tmp_path/'m.skops').write_text('x')
    r = run('predict-face', tmp_path/'m.skops', 'a.png')
    assert r.returncode == 2 and 'not a skops model file' in r.stderr
    r = run('train-landmarks', faces_dir/'SYNTHETIC.json', '-o', tmp_path/'m2.skops')
    assert r.returncode == 2 and 'missing column(s)' in r.stderr

@pytest.mark.parametrize('cmd,options', [
    ('landmarks', ['--output', '--several-faces', '--detector', '--upsample', '--min-score', '--quiet', 'IMAGE_OR_DIR']),
    ('sample-faces', ['--out', '--n', '--subjects', '--size', '--seed']),
    ('train-landmarks', ['--output', '--report', '--features', '--folds', 'CSV']),
    ('predict-face', ['--json', '--model', 'IMAGE', 'FER2013'])])
def test_face_help(cmd, options):
    r = run(cmd, '--help')
    assert r.returncode == 0 and all(o in r.stdout for o in options)

def test_help_stays_light():
    code = ("import sys; from emotion_nbdev.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('cv2', 'dlib', 'sklearn', 'lazypredict', 'skops', 'pandas', 'numpy', 'skimage') if m in sys.modules))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert r.stdout.strip() == '[]', r.stdout
