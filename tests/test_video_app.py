"""Emotion over time through the product's doors: `POST /api/video`, the demo's Video tab and `emotion-nbdev analyse-video/analyse-audio`."""
import json, math, re, subprocess, sys
from pathlib import Path
import httpx
import pandas as pd
import pytest
from emotion_nbdev.core import EMOTIONS
from emotion_nbdev.audio_data import synthetic_speech_dir

SERVER_PATH = re.compile(r'(/tmp/|/root/|/work/|/home/|/usr/|site-packages|emotion-nbdev-)')
CLIP = sorted((synthetic_speech_dir()/'ALL').glob('*.flac'))[0]

@pytest.fixture(scope='session')
def av_clip(tmp_path_factory):
    "The happy clip of the synthetic audio-visual corpus (a drawn face beside a machine voice)."
    from emotion_nbdev.timeline import make_av_corpus
    corpus = make_av_corpus(tmp_path_factory.mktemp('av'), n_per_class=1)
    return Path(corpus.set_index('emotion').loc['happiness', 'path'])

def post(server, name, data):
    return httpx.post(f'{server.url}/api/video', files={'file': (name, data)}, timeout=120)

def check_timeline(body):
    "Steps cover the readable length in hops; segments tile it without gaps; every probability row sums to 1."
    steps, segs, hop = body['steps'], body['segments'], body['hop_s']
    assert len(steps) == math.ceil(body['duration_s']/hop - 1e-9) and steps[0]['start'] == 0
    assert segs[0]['start'] == 0 and segs[-1]['end'] == pytest.approx(body['duration_s'], abs=1e-3)
    assert all(a['end'] == pytest.approx(b['start']) for a, b in zip(segs, segs[1:]))
    for s in steps:
        fused = [s[f'p_{l}'] for l in body['labels']]
        if s['emotion'] != 'none': assert sum(fused) == pytest.approx(1, abs=1e-3) and s['emotion'] == body['labels'][fused.index(max(fused))]

def test_video_over_http(app_server, av_clip):
    r = post(app_server, 'happy.mp4', av_clip.read_bytes())
    assert r.status_code == 200, r.text
    body = r.json()
    check_timeline(body)
    assert set(body['labels']) <= set(EMOTIONS) and body['data'] == {'face': 'FER2013 (real faces)', 'voice': 'synthetic'}
    assert {'face_emotion', 'voice_emotion', 'emotion', 'face_p_happiness', 'voice_p_happiness'} <= set(body['steps'][0])
    assert any(s['face_emotion'] not in ('none', None) for s in body['steps'])   # the drawn face is found
    assert any(s['voice_emotion'] not in ('none', 'silence', None) for s in body['steps'])  # and the voice heard

def test_bad_video_gets_a_clear_4xx(app_server, av_clip):
    cases = [('empty.mp4', b'', 'empty file'), ('notes.mp4', b'these are my notes' * 50, 'corrupt, truncated or not a media file'),
             ('sound.flac', CLIP.read_bytes(), 'no video stream'), ('half.mp4', av_clip.read_bytes()[:len(av_clip.read_bytes())//3], None)]
    for name, data, words in cases:
        r = post(app_server, name, data)
        if name == 'half.mp4' and r.status_code == 200:  # a cut file: what can be read is analysed, and said so
            assert r.json()['duration_s'] < 0.6*json.loads(post(app_server, 'whole.mp4', av_clip.read_bytes()).text)['duration_s']; continue
        assert r.status_code == 422, (name, r.text)
        msg = r.json()['error']
        assert msg.startswith(f'{name}: ') and (words is None or words in msg) and not SERVER_PATH.search(msg), msg

def test_video_longer_than_the_limit_is_413(demo_models, av_clip):
    from fastapi.testclient import TestClient
    from emotion_nbdev.app import Limits, create_api
    api = TestClient(create_api(demo_models, Limits(max_video_seconds=1.0)))
    r = api.post('/api/video', files={'file': ('long.mp4', av_clip.read_bytes())})
    assert r.status_code == 413 and re.fullmatch(r'long\.mp4: video is [\d.]+ s long; this server accepts up to 1 s', r.json()['error']), r.text

def test_video_tab_through_gradio_client(app_server, av_clip):
    from gradio_client import Client, handle_file
    client = Client(app_server.url + '/', verbose=False)
    plot, segments, notes, drawn = client.predict(handle_file(str(av_clip)), True, api_name='/predict_video')
    rows = segments['data']
    assert rows[0][0] == 0 and all(r[2] in (*EMOTIONS, 'none') for r in rows) and notes
    assert drawn and Path(drawn['video'] if isinstance(drawn, dict) else drawn).stat().st_size > 10_000  # the annotated video came back

def run_cli(*args, cwd):
    return subprocess.run([str(Path(sys.executable).parent/'emotion-nbdev'), *args], capture_output=True, text=True, cwd=cwd, timeout=600)

def test_analyse_video_and_audio_commands(demo_models, av_clip, tmp_path):
    import av
    models = str(demo_models.folder)
    p = run_cli('analyse-video', str(av_clip), '-o', 'tl.csv', '--json', 'tl.json', '--plot', 'tl.png', '--annotate', 'out.mp4', '--models', models, '-q', cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    steps, whole = pd.read_csv(tmp_path/'tl.csv'), json.loads((tmp_path/'tl.json').read_text())
    assert list(steps.columns[:5]) == ['start', 'end', 'face_emotion', 'voice_emotion', 'emotion'] and len(steps) == len(whole['steps']['start'])
    assert (tmp_path/'tl.png').read_bytes()[:4] == b'\x89PNG' and 'segment(s)' in p.stdout
    with av.open(str(tmp_path/'out.mp4')) as c, av.open(str(av_clip)) as src:
        assert c.streams.video and c.streams.audio and c.streams.video[0].frames == src.streams.video[0].frames
    p = run_cli('analyse-audio', str(av_clip), '-o', 'voice.csv', '--models', models, '-q', cwd=tmp_path)
    assert p.returncode == 0 and pd.read_csv(tmp_path/'voice.csv')['face_emotion'].isin(['none']).all(), p.stderr
    p = run_cli('analyse-video', str(CLIP), '-o', 'bad.csv', '--models', models, '-q', cwd=tmp_path)
    assert p.returncode == 2 and 'no video stream' in p.stderr and not (tmp_path/'bad.csv').exists()
    p = run_cli('analyse-video', str(av_clip), '--models', models, cwd=tmp_path)
    assert p.returncode == 2 and 'say where the timeline goes' in p.stderr

def test_timeline_commands_load_only_what_they_use(demo_models, av_clip, tmp_path):
    "analyse-audio imports no TensorFlow; analyse-video neither (its networks run on LiteRT, the TensorFlow Lite runtime alone); --framing reaches the analysis."
    code = "import sys; from emotion_nbdev.cli import main; s = main(sys.argv[1:]); print(s, sorted(m for m in ('tensorflow', 'keras', 'gradio', 'torch') if m in sys.modules))"
    run = lambda *a: subprocess.run([sys.executable, '-c', code, *a, '--models', str(demo_models.folder), '-q'], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    audio = run('analyse-audio', str(av_clip), '-o', 'a.csv')
    assert audio.stdout.strip().splitlines()[-1] == '0 []', audio.stdout + audio.stderr
    video = run('analyse-video', str(av_clip), '--json', 'v.json', '--framing', 'every')
    assert video.stdout.strip().splitlines()[-1] == '0 []', video.stdout + video.stderr
    assert json.loads((tmp_path/'v.json').read_text())['source']['framing'] == 'every'

def test_timeline_models_answer_as_the_demo_models(demo_models):
    "The command's lighter loading (the audio model with its calibration, FER2013 on TensorFlow Lite alone) gives the demo models' answers."
    import argparse
    import numpy as np
    from emotion_nbdev.cli import _timeline_models
    from emotion_nbdev.features import FEATURE_NAMES
    m = _timeline_models(argparse.Namespace(models=str(demo_models.folder), quiet=True))
    assert list(m.faces) == ['fer2013'] and m.synthetic == {'audio': True, 'fer2013': False} and set(m.trust) == {'audio'}
    assert type(m.faces['fer2013'].model).__name__ == 'TfliteNet'  # no Keras network built
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (4, 64, 64, 1)).astype(np.float32)
    assert np.array_equal(m.faces['fer2013'].run(x), demo_models.faces['fer2013'].run(x))
    X = rng.normal(size=(3, len(FEATURE_NAMES)))
    assert m.trust['audio'].assess(m.audio, X) == demo_models.trust['audio'].assess(demo_models.audio, X)
