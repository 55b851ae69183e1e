"""The demo's Live tab in a real browser with Chromium's fake webcam and microphone: both streams reach the server offline."""
import time
import pytest
from conftest import require_tool

def test_live_tab_streams_webcam_and_microphone(app_server):
    "The fake camera (a test pattern, no face) and the fake microphone (a beep) stream; the session's answers come back."
    require_tool('chromium')
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path='/usr/bin/chromium',
                                    args=['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                                          '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'])
        page = browser.new_context(viewport={'width': 1400, 'height': 1100}, permissions=['camera', 'microphone']).new_page()
        page.set_default_timeout(90_000)
        page.goto(app_server.url + '/')
        page.get_by_role('tab', name='Live').click()
        page.locator('#live-cam button', has_text='Click to Access Webcam').click()
        page.locator('#live-cam button[aria-label="capture photo"]').click()  # starts the stream
        page.locator('#live-mic button', has_text='Record').click()
        text = ''
        for _ in range(60):
            time.sleep(1)
            text = page.locator('#live-now').inner_text()
            if 'now:' in text and 'no sound heard yet' not in text: break
        browser.close()
    assert 'now:' in text and 'no sound heard yet' not in text, text  # frames and sound were answered
    assert 'no face seen yet' in text, text  # the fake camera shows no face: the face lane says so rather than guess
