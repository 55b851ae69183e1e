"""The Gradio demo in a real browser (Debian Chromium via Playwright): upload a clip and a photo, see labels and plots."""
import io, os
from pathlib import Path
import numpy as np
import pytest
from PIL import Image
from conftest import require_tool
from emotion_nbdev.core import EMOTIONS
from emotion_nbdev.audio_data import load_synthetic_speech

SHOTS = Path(__file__).parent.parent/'artifacts'/'screenshots'

@pytest.fixture(scope='module')
def page(app_server):
    require_tool('chromium')
    from playwright.sync_api import sync_playwright
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path='/usr/bin/chromium',
                                    args=['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'])
        pg = browser.new_page(viewport={'width': 1400, 'height': 1100})
        pg.set_default_timeout(90_000)
        pg.goto(app_server.url + '/')
        pg.get_by_role('tab', name='Audio').wait_for()
        yield pg
        browser.close()

def test_page_says_which_models_are_real_and_which_synthetic(page):
    note = page.locator('#data-note')
    note.wait_for()
    text = note.inner_text()
    assert 'Voice: synthetic' in text and 'Face: real' in text and 'FER2013' in text and 'synthetic faces' in text

def test_audio_tab_upload_predict(page, demo_models, tmp_path):
    from emotion_nbdev.audio_model import predict_emotion
    m = load_synthetic_speech().manifest
    clip = m[m.emotion == 'anger'].path.iloc[0]
    expected = predict_emotion(clip, demo_models.audio)['emotion']
    page.get_by_role('tab', name='Audio').click()
    wav = tmp_path/'anger_clip.wav'
    import soundfile as sf
    y, sr = sf.read(clip); sf.write(wav, y, sr)
    page.locator('#audio-input input[type=file]').set_input_files(str(wav))
    page.locator('audio, [data-testid="waveform-Audio"], .waveform-container').first.wait_for(state='attached')
    page.locator('#audio-go').click()
    probs = page.locator('#audio-probs')
    probs.get_by_text(expected, exact=False).first.wait_for()
    page.locator('#audio-plot img, #audio-plot svg, #audio-plot canvas').first.wait_for()
    text = probs.inner_text()
    assert expected in text and '%' in text
    page.screenshot(path=str(SHOTS/'demo_audio.png'), full_page=True)

def test_real_voice_is_shown_as_unfamiliar_and_faded(page, tmp_path):
    "A real human voice gets its guess faded and the reason in words next to it."
    prompt = Path('/usr/share/sounds/alsa/Front_Center.wav')
    if not prompt.exists(): pytest.skip('alsa-utils voice prompts are not installed (make system-deps)')
    page.get_by_role('tab', name='Audio').click()
    page.locator('#audio-input button[aria-label*="lear"]').first.click() if page.locator('#audio-input button[aria-label*="lear"]').count() else None
    page.locator('#audio-input input[type=file]').set_input_files(str(prompt))
    page.locator('#audio-go').click()
    page.locator('#audio-flag').get_by_text('Unfamiliar input').wait_for()
    assert 'unlike the synthetic voices the model learned from' in page.locator('#audio-flag').inner_text()
    page.wait_for_function("() => document.querySelector('#audio-probs').classList.contains('faded')")
    page.screenshot(path=str(SHOTS/'demo_audio_unfamiliar.png'), full_page=True)

def test_face_tab_upload_predict(page, demo_models, tmp_path):
    from skimage.data import astronaut
    photo = tmp_path/'astronaut.png'
    Image.fromarray(astronaut()).save(photo)
    page.get_by_role('tab', name='Face').click()
    page.locator('#face-input input[type=file]').set_input_files(str(photo))
    page.locator('#face-go').click()
    summary = page.locator('#face-summary')
    summary.get_by_text('face(s)').wait_for()
    assert '1 face(s)' in summary.inner_text()
    page.locator('#face-drawn img').first.wait_for()
    assert 'happiness' in page.locator('#fer2013-probs').inner_text()  # the real-face model's answer
    for box in ('#landmarks-probs', '#cnn-probs'):
        assert any(e in page.locator(box).inner_text() for e in EMOTIONS)
    plain = page.locator('#face-drawn img').first.get_attribute('src')
    page.screenshot(path=str(SHOTS/'demo_face.png'), full_page=True)
    page.locator('#face-overlay').get_by_text('FER2013 model (real faces)').click()
    page.locator('#face-go').click()
    page.wait_for_function("s => { const i = document.querySelector('#face-drawn img'); return i && i.src !== s; }", arg=plain)
    page.screenshot(path=str(SHOTS/'demo_face_saliency.png'), full_page=True)
    page.locator('#face-overlay').get_by_text('off').click()

def test_face_without_a_face_shows_a_readable_error(page, tmp_path):
    blank = tmp_path/'blank.png'
    Image.fromarray(np.full((200, 300, 3), 230, np.uint8)).save(blank)
    page.get_by_role('tab', name='Face').click()
    page.locator('#face-input button[aria-label*="Clear"], #face-input button[aria-label*="clear"]').first.click() if page.locator('#face-input button[aria-label*="lear"]').count() else None
    page.locator('#face-input input[type=file]').set_input_files(str(blank))
    page.locator('#face-go').click()
    page.get_by_text('no face found').first.wait_for()
    page.screenshot(path=str(SHOTS/'demo_error.png'), full_page=True)

def test_models_tab(page):
    page.get_by_role('tab', name='Models').click()
    table = page.locator('#model-table')
    table.wait_for()
    page.wait_for_function("document.querySelector('#model-table').innerText.includes('subject-grouped')")
    text = table.inner_text()
    assert 'speaker-grouped' in text and 'synthetic' in text
    page.screenshot(path=str(SHOTS/'demo_models.png'), full_page=True)

def test_video_tab_upload_analyse(page, tmp_path):
    "A synthetic audio-visual clip uploaded to the Video tab: the timeline figure, the segments and the notes appear."
    from emotion_nbdev.timeline import make_av_corpus
    clip = make_av_corpus(tmp_path, n_per_class=1).set_index('emotion').loc['happiness', 'path']
    page.get_by_role('tab', name='Video').click()
    page.locator('#video-input input[type=file]').set_input_files(clip)
    page.locator('#video-input video').first.wait_for(state='attached')
    page.locator('#video-go').click()
    page.locator('#video-plot img').first.wait_for()  # a matplotlib figure arrives as an image
    table = page.locator('#video-segments')
    for _ in range(60):  # the table fills in after the figure
        text = table.inner_text()
        if any(e in text for e in EMOTIONS): break
        page.wait_for_timeout(500)
    assert 'start (s)' in text and any(e in text for e in EMOTIONS), text
    assert page.locator('#video-notes').inner_text().strip()
    page.screenshot(path=str(SHOTS/'demo_video.png'), full_page=True)
