"The `emotion-nbdev` console script on fixture trees, bad input, and its --help."
import subprocess, sys
from pathlib import Path
import pandas as pd
import pytest
from emotion_nbdev.audio_data import synthetic_speech_dir

EXE = str(Path(sys.executable).parent/'emotion-nbdev')

def run(*args, cwd=None, env=None):
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)

def test_index_fixtures(tmp_path, crema_root, tess_root, savee_root):
    out = tmp_path/'out'/'manifest.csv'
    r = run('index', crema_root, tess_root, savee_root, '-o', out, '-q')
    assert r.returncode == 0, r.stderr
    m = pd.read_csv(out, dtype={'speaker': str, 'sentence': str})
    assert m.groupby('dataset').size().to_dict() == {'crema-d': 6, 'savee': 7, 'tess': 10}
    assert m.set_index('clip_id').loc['DC_sa01', 'emotion'] == 'sadness'
    skipped = pd.read_csv(out.with_name('manifest.skipped.csv'))
    assert len(skipped) == 9 and set(skipped.columns) == {'path', 'reason'}
    assert '23 clips from 3 root(s)' in r.stdout
    assert 'skipped 9 file(s):' in r.stdout and 'hidden or system file' in r.stdout
    table = r.stdout.split('clips per dataset x emotion')[1]
    assert 'crema-d' in table and 'total' in table

def test_index_dataset_option_and_ravdess(ravdess_root):
    r = run('index', ravdess_root, '--dataset', 'ravdess', '--calm', 'drop', '--include-song', '-q')
    assert r.returncode == 0, r.stderr
    assert '4 clips from 1 root(s)' in r.stdout and "calm dropped" in r.stdout

def test_index_env_var(tess_root):
    import os
    r = run('index', '-q', env={**os.environ, 'EMOTION_DATA_DIR': str(tess_root)})
    assert r.returncode == 0 and '10 clips' in r.stdout

def test_index_errors(tmp_path):
    r = run('index', tmp_path/'missing', '-q')
    assert r.returncode == 2 and r.stderr.strip() == f'emotion-nbdev index: error: ROOT {tmp_path/"missing"} does not exist or is not a folder'
    (tmp_path/'notes.txt').write_text('x')
    r = run('index', tmp_path, '-q')
    assert r.returncode == 2 and 'holds no audio named like CREMA-D, TESS, SAVEE or RAVDESS' in r.stderr
    import os
    env = {k: v for k, v in os.environ.items() if k != 'EMOTION_DATA_DIR'}
    r = run('index', env=env)
    assert r.returncode == 2 and 'EMOTION_DATA_DIR' in r.stderr

def test_embedded_corpus_main_job(tmp_path):
    r = run('sample-data')
    assert r.returncode == 0 and Path(r.stdout.strip()) == synthetic_speech_dir()
    r = run('index', r.stdout.strip(), '-o', tmp_path/'m.csv', '-q')
    assert r.returncode == 0 and 'NOTE: synthetic speech' in r.stdout and 'skipped 0 files' in r.stdout
    assert len(pd.read_csv(tmp_path/'m.csv')) == 210

def test_sample_data_copy(tmp_path):
    r = run('sample-data', '--out', tmp_path)
    copy = Path(r.stdout.strip())
    assert r.returncode == 0 and copy.parent == tmp_path and (copy/'SYNTHETIC.json').exists()
    assert len(list((copy/'ALL').iterdir())) == len(list((synthetic_speech_dir()/'ALL').iterdir()))
    r = run('sample-data', '--out', tmp_path)
    assert r.returncode == 2 and 'already exists' in r.stderr

@pytest.mark.parametrize('cmd,options', [
    ('index', ['--dataset', '--output', '--include-song', '--calm', '--show-skipped', '--quiet', 'ROOT']),
    ('sample-data', ['--out'])])
def test_help_explains_every_option(cmd, options):
    r = run(cmd, '--help')
    assert r.returncode == 0
    for o in options: assert o in r.stdout

def test_help_is_fast_no_heavy_imports():
    code = ("import sys; from emotion_nbdev.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('librosa', 'sklearn', 'tensorflow', 'gradio', 'matplotlib', 'pandas') if m in sys.modules))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert r.stdout.strip() == '[]', r.stdout

def test_index_videos_beside_the_audio(tmp_path):
    "`index --media all` lists CREMA-D's videos beside its WAVs, with a modality column; the default indexes audio only."
    from conftest import write_tone
    from emotion_nbdev.cli import main
    root = tmp_path/'CREMA-D'
    for n in ('1001_DFA_ANG_XX', '1002_IEO_HAP_HI'):
        write_tone(root/'AudioWAV'/f'{n}.wav', 16000)
        (root/'VideoFlash').mkdir(parents=True, exist_ok=True); (root/'VideoFlash'/f'{n}.flv').write_bytes(b'FLV\x01' + b'\x00'*64)
    assert main(['index', str(root), '--media', 'all', '-o', str(tmp_path/'all.csv'), '-q']) == 0
    m = pd.read_csv(tmp_path/'all.csv')
    assert sorted(m['modality']) == ['audio', 'audio', 'audio+video', 'audio+video'] and set(m['emotion']) == {'anger', 'happiness'}
    assert main(['index', str(root), '-o', str(tmp_path/'audio.csv'), '-q']) == 0
    assert len(pd.read_csv(tmp_path/'audio.csv')) == 2

HEAVY = ('tensorflow', 'keras', 'gradio', 'torch', 'matplotlib', 'cv2', 'dlib', 'av')  # what an audio command has no use for

def test_audio_command_imports_no_heavy_modules(tmp_path):
    "predict-audio's import path (every module the command imports before its model file is read) and the features of a clip load none of `HEAVY`."
    clip = sorted((synthetic_speech_dir()/'ALL').glob('*.flac'))[0]
    code = ("import sys; from emotion_nbdev.cli import main; "
            f"status = main(['predict-audio', {str(tmp_path/'missing.skops')!r}, {str(clip)!r}]); "
            f"from emotion_nbdev.features import clip_features, load_audio; clip_features(load_audio({str(clip)!r})); "
            f"print(status, sorted(m for m in {HEAVY!r} if m in sys.modules), 'sklearn' in sys.modules)")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert r.stdout.split('\n')[-2] == '2 [] True', r.stdout + r.stderr  # the missing model is refused after the imports; scikit-learn was loaded
    assert 'missing.skops' in r.stderr
