"""The first page's picture: the demo's Audio tab answering one clip of the embedded synthetic corpus.

Serves `emotion-nbdev serve --models DIR` on a free local port, opens it in headless Debian Chromium (Playwright,
no browser download), uploads the clip, waits for the answer and its plots, and saves the page as a palette PNG
small enough for the README (under `--max-kb`).
Usage: EMOTION_MODELS_DIR=/tmp/m emotion-nbdev demo-models   # once, ~3 min on 2 cores
       python tools/demo_screenshot.py --models /tmp/m [--emotion anger] [--out nbs/images/demo_audio.png]
"""
import argparse, io, os, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking']

def free_port()->int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def wait_healthy(url:str, proc:subprocess.Popen, timeout:float=300):
    "Block until `url`/api/health answers; fail with the server's log when it exits or times out."
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None: sys.exit(f'the server exited with code {proc.returncode}: see its log above')
        try:
            with urllib.request.urlopen(url + '/api/health', timeout=5) as r:
                if r.status == 200: return
        except OSError: time.sleep(1)
    sys.exit(f'the server did not answer {url}/api/health within {timeout:.0f} s')

def example_clip(emotion:str, folder:Path)->Path:
    "The first embedded synthetic clip of `emotion`, copied under a readable name."
    import shutil
    from emotion_nbdev.audio_data import load_synthetic_speech
    m = load_synthetic_speech().manifest
    rows = m[m.emotion == emotion]
    if rows.empty: sys.exit(f'no embedded clip of emotion {emotion!r}; choose one of {sorted(m.emotion.unique())}')
    dst = folder/f'{emotion}_clip.wav'
    shutil.copy(rows.path.iloc[0], dst)
    return dst

def shoot(url:str, clip:Path, width:int=1280)->bytes:
    "PNG bytes of the Audio tab after it has answered `clip`: input, probabilities and plots."
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path='/usr/bin/chromium', args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={'width': width, 'height': 900})
        page.set_default_timeout(120_000)
        page.goto(url + '/')
        page.get_by_role('tab', name='Audio').click()
        page.locator('#audio-input input[type=file]').set_input_files(str(clip))
        page.locator('#audio-go').click()
        page.locator('#audio-probs').get_by_text('%').first.wait_for()
        for plot in ('#audio-plot', '#audio-why'): page.locator(f'{plot} img, {plot} svg, {plot} canvas').first.wait_for()
        page.wait_for_timeout(1500)  # let the plots finish drawing
        png = page.screenshot(full_page=True)
        browser.close()
    return png

def shrink(png:bytes, out:Path, max_kb:int, width:int=1100)->tuple[int, int, int]:
    "Resize to `width` px and save as a palette PNG, fewer colours until under `max_kb`; (width, height, bytes)."
    from PIL import Image
    im = Image.open(io.BytesIO(png)).convert('RGB')
    if im.width > width: im = im.resize((width, round(im.height*width/im.width)), Image.LANCZOS)
    for colours in (256, 128, 64, 32):
        buf = io.BytesIO()
        im.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(buf, 'PNG', optimize=True)
        if buf.tell() <= max_kb*1024: break
    else: sys.exit(f'{out}: still {buf.tell()//1024} kB at 32 colours; lower --width')
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buf.getvalue())
    return im.width, im.height, buf.tell()

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--models', required=True, help='the demo models folder (trained: emotion-nbdev demo-models)')
    ap.add_argument('--emotion', default='anger', help='which embedded clip to upload')
    ap.add_argument('--out', default=str(ROOT/'nbs'/'images'/'demo_audio.png'))
    ap.add_argument('--width', type=int, default=1100, help='width of the saved picture in pixels')
    ap.add_argument('--max-kb', type=int, default=380)
    a = ap.parse_args()
    port = free_port()
    url = f'http://127.0.0.1:{port}'
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED='False')
    proc = subprocess.Popen([str(BIN/'emotion-nbdev'), 'serve', '--models', a.models, '--port', str(port)], env=env)
    try:
        wait_healthy(url, proc)
        with tempfile.TemporaryDirectory() as tmp: png = shoot(url, example_clip(a.emotion, Path(tmp)))
    finally:
        proc.terminate(); proc.wait(30)
    w, h, size = shrink(png, Path(a.out), a.max_kb, a.width)
    print(f'wrote {a.out}: {w} x {h} px, {size/1024:.0f} kB')

if __name__ == '__main__': main()
