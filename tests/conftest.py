"""Fixture trees with each dataset's real naming, quirks included, made of tiny WAVs at the native rate."""
import os, struct
from pathlib import Path
import numpy as np
import pytest
import soundfile as sf

def write_tone(path, sr, seconds=0.2, freq=220.0):
    "A short sine WAV at `sr` (the dataset's native rate)."
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(sr*seconds))/sr
    sf.write(path, (0.1*np.sin(2*np.pi*freq*t)).astype(np.float32), sr, subtype='PCM_16')
    return path

def write_wav_with_extra_chunk(path, sr, seconds=0.3):
    "A PCM WAV with a LIST chunk between `fmt ` and `data`, as some RAVDESS files have."
    n = int(sr*seconds)
    data = (0.1*np.sin(2*np.pi*330*np.arange(n)/sr)*32767).astype('<i2').tobytes()
    fmt = struct.pack('<HHIIHH', 1, 1, sr, sr*2, 2, 16)
    info = b'INFOISFT' + struct.pack('<I', 14) + b'Lavf58.29.100\x00'
    chunks = b'fmt ' + struct.pack('<I', len(fmt)) + fmt + b'LIST' + struct.pack('<I', len(info)) + info \
             + b'data' + struct.pack('<I', len(data)) + data
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'RIFF' + struct.pack('<I', 4 + len(chunks)) + b'WAVE' + chunks)
    return path

def write_empty_wav(path, sr):
    "A valid WAV header with no samples (CREMA-D 1076_MTI_SAD_XX)."
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(0, dtype=np.float32), sr)
    return path

@pytest.fixture
def crema_root(tmp_path):
    root = tmp_path/'CREMA-D'
    wav = root/'AudioWAV'
    for n in ('1001_DFA_ANG_XX', '1001_IEO_HAP_HI', '1002_IEO_NEU_XX', '1002_TSI_DIS_XX', '1091_ITH_SAD_XX', '1091_IEO_FEA_LO'):
        write_tone(wav/f'{n}.wav', 16000)
    write_empty_wav(wav/'1076_MTI_SAD_XX.wav', 16000)           # header only: no audio
    (wav/'1064_TIE_SAD_XX.wav').write_bytes(b'')                 # zero bytes
    (wav/'1064_IEO_DIS_MD.wav').write_bytes(b'RIFF\x00\x00garbage not a wave file')
    (wav/'.DS_Store').write_bytes(b'\x00\x00\x00\x01Bud1')
    (wav/'._1001_DFA_ANG_XX.wav').write_bytes(b'\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X')
    write_tone(wav/'1001_DFA_SUR_XX.wav', 16000)                 # no surprise in CREMA-D
    (root/'VideoDemographics.csv').write_text('ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n'
                                             '1002,21,Female,Caucasian,Not Hispanic\n1091,29,Female,Asian,Not Hispanic\n')
    return root

TESS_DIR = 'TESS Toronto emotional speech set data'

@pytest.fixture
def tess_root(tmp_path):
    root = tmp_path/TESS_DIR
    files = ['OAF_Fear/OAF_back_fear.wav', 'OAF_Pleasant_surprise/OAF_back_ps.wav', 'YAF_pleasant_surprised/YAF_germ_ps.wav',
             'OAF_Sad/OAF_bath_sad.wav', 'YAF_sad/YAF_bath_sad.wav', 'YAF_angry/YAF_dog_angry.wav',
             'OAF_disgust/OAF_dog_disgust.wav', 'YAF_happy/YAF_dog_happy.wav', 'OAF_neutral/OAF_dog_neutral.wav',
             'OAF_angry/OAF_lean_sad.wav']  # folder says angry, file name says sad: the file name wins
    for f in files: write_tone(root/f, 24414)
    write_tone(root/TESS_DIR/'OAF_Fear/OAF_back_fear.wav', 24414)  # the nested second copy in the Kaggle download
    write_tone(root/'YAF_sad/YAF_bath_sad_take2.wav', 24414)
    return root

@pytest.fixture
def savee_root(tmp_path):
    root = tmp_path/'SAVEE'
    for n in ('DC_a01', 'DC_sa01', 'DC_su01', 'JE_d02', 'JK_f03', 'KL_h04', 'KL_n30'):
        write_tone(root/'ALL'/f'{n}.wav', 44100)
    write_tone(root/'ALL'/'DC_x01.wav', 44100)
    return root

@pytest.fixture
def savee_original_root(tmp_path):
    root = tmp_path/'SAVEE-original'
    for f in ('AudioData/DC/a01.wav', 'AudioData/JE/sa02.wav', 'AudioData/KL/su15.wav', 'AudioData/JK/n05.wav'):
        write_tone(root/f, 44100)
    (root/'AudioData'/'DC'/'info.txt').write_text('speaker DC')
    return root

@pytest.fixture
def ravdess_root(tmp_path):
    root = tmp_path/'RAVDESS'
    for f in ('Actor_01/03-01-05-01-02-01-01.wav', 'Actor_02/03-01-02-01-01-01-02.wav',
              'Actor_02/03-01-08-02-02-02-02.wav', 'Actor_01/03-02-03-01-01-01-01.wav',  # song
              'Actor_03/03-01-03-01-01-01-04.wav'):                                     # actor/folder mismatch
        write_tone(root/f, 48000)
    write_wav_with_extra_chunk(root/'Actor_12/03-01-04-02-01-01-12.wav', 48000, seconds=0.3)
    return root

def require_tool(name):
    "Skip when a system tool is missing, except on CI, where its absence is a failure of .ci/run."
    import shutil
    if shutil.which(name): return
    if os.environ.get('CI'): pytest.fail(f'{name} is not installed on CI (.ci/run must install it)')
    pytest.skip(f'{name} not installed (make system-deps)')

@pytest.fixture(scope='session', autouse=True)
def isolated_cache(tmp_path_factory):
    "The tests never read or write the user's cache or models folder: both live in a temporary folder for the session."
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp('emotion-cache')
    mp.setenv('EMOTION_CACHE_DIR', str(root)); mp.setenv('EMOTION_MODELS_DIR', str(root/'models'))
    yield root
    mp.undo()

SHARED_MODELS_VAR = 'EMOTION_TEST_MODELS_DIR'  # a folder of demo models trained once for a whole `make test` (notebooks too)

def shared_models_dir(tmp_path_factory):
    "Where this run's demo models are trained once: `$EMOTION_TEST_MODELS_DIR`, else one folder for all xdist workers, else None."
    if os.environ.get(SHARED_MODELS_VAR): return Path(os.environ[SHARED_MODELS_VAR])
    if os.environ.get('PYTEST_XDIST_WORKER'): return tmp_path_factory.getbasetemp().parent/'demo-models'
    return None

@pytest.fixture(scope='session')
def demo_models(isolated_cache, tmp_path_factory):
    "The demo's models, trained once per run on the embedded data, in the session's temporary models folder."
    import shutil
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
    from emotion_nbdev.app import train_demo_models, load_demo_models
    shared = shared_models_dir(tmp_path_factory)
    if shared is not None:
        # under the folder's lock: the first worker (or notebook) trains, the others wait and find the models;
        # the session gets its own copy, so a test that changes its models changes no other worker's
        train_demo_models(shared, progress=False, log=lambda *a: None)
        shutil.copytree(shared, isolated_cache/'models', ignore=shutil.ignore_patterns('.training.lock'), dirs_exist_ok=True)
    train_demo_models(progress=False)  # checks the copy loads (trains what is missing when no shared folder)
    return load_demo_models()

# limits small enough that the tests can exceed each one cheaply
TEST_LIMITS = dict(max_upload_mb=2.0, max_audio_seconds=20.0, max_image_pixels=4_000_000, queue_size=64)

@pytest.fixture(scope='session')
def app_server(demo_models):
    "The whole demo server (API + Gradio UI) on a free local port, for the session."
    from emotion_nbdev.app import BackgroundServer, Limits, create_app
    with BackgroundServer(create_app(demo_models, Limits(**TEST_LIMITS))) as server: yield server
