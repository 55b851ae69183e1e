"""The face CNN chapter: network shapes and weights, learning, persistence and refusal of foreign or changed
files, one preprocessing for training and prediction, bad images, and the `train-cnn` command end to end.
Networks are trained tiny (32x32, a few epochs) so that the file runs in a few minutes on two cores."""
import json, struct, subprocess, sys, zlib
from pathlib import Path
import numpy as np
import pytest
from emotion_nbdev.core import EMOTIONS
from emotion_nbdev.face_data import UnreadableImageError, detect_faces, make_synthetic_faces, read_image, write_synthetic_faces
from emotion_nbdev.cnn import (CnnModelError, FaceSplit, accuracy_interval, class_weights, compare_runs, crop_face, improved_cnn,
                               load_cnn, load_face_folders, load_fer2013_images, metadata_path, predict_face_cnn,
                               preprocess_face, save_cnn, seed_cnn, subject_split, synthetic_face_images, train_cnn,
                               training_callbacks)

EXE = str(Path(sys.executable).parent/'emotion-nbdev')
SIZE = 32  # input side of every trained network here: small enough for seconds per epoch on a CPU

def write_png(path, array):
    import cv2
    path.parent.mkdir(parents=True, exist_ok=True)
    a = np.asarray(array)
    cv2.imwrite(str(path), a[..., ::-1] if a.ndim == 3 and a.shape[2] == 3 else (a[..., [2, 1, 0, 3]] if a.ndim == 3 else a))
    return path

def zero_pixel_png(path):
    "A PNG whose header says 0 x 0 pixels."
    ihdr = b'IHDR' + struct.pack('>IIBBBBB', 0, 0, 8, 2, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + struct.pack('>I', 13) + ihdr + struct.pack('>I', zlib.crc32(ihdr)))
    return path

@pytest.fixture(scope='module')
def synthetic():
    "The cached 700-face synthetic set at 32x32, with subject ids."
    return synthetic_face_images(700, 20, SIZE, progress=False)

@pytest.fixture(scope='module')
def tiny_run(synthetic):
    "An improved network trained for 2 epochs: enough to save, load and predict."
    return train_cnn(synthetic, 'improved', epochs=2, progress=False)

# --- networks ---------------------------------------------------------------------------------------------

def test_seed_cnn_is_the_report_network():
    conv = lambda k, c_in, c_out: k*k*c_in*c_out + c_out
    m = seed_cnn(128)
    assert m.count_params() == conv(3, 3, 32) + conv(3, 32, 64) + conv(3, 64, 128) + conv(3, 128, 128) + (14*14*128*1024 + 1024) + (1024*7 + 7) == 25_939_143
    kinds = [type(l).__name__ for l in m.layers]
    assert kinds == ['Conv2D', 'Conv2D', 'MaxPooling2D', 'Dropout', 'Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Dropout',
                     'Flatten', 'Dense', 'Dropout', 'Dense']
    assert [l.filters for l in m.layers if type(l).__name__ == 'Conv2D'] == [32, 64, 128, 128]
    assert [l.rate for l in m.layers if isinstance(l, type(m.layers[3]))] == [0.25, 0.25, 0.5]
    assert tuple(m.input_shape) == (None, 128, 128, 3) and tuple(m.output_shape) == (None, 7)
    assert m.layers[-1].activation.__name__ == 'softmax' and m.layers[0].activation.__name__ == 'relu'
    assert type(m.optimizer).__name__ == 'Adam'

def test_improved_cnn_shapes_and_size_independent_weights():
    small, big = improved_cnn(SIZE), improved_cnn(128)
    assert tuple(small.output_shape) == (None, 7) and tuple(big.input_shape) == (None, 128, 128, 3)
    assert small.count_params() == big.count_params() < seed_cnn(SIZE).count_params()
    names = {type(l).__name__ for l in big.layers}
    assert {'BatchNormalization', 'GlobalAveragePooling2D', 'Dropout', 'Sequential'} <= names
    aug = {type(l).__name__ for l in big.get_layer('augment').layers}
    assert {'RandomFlip', 'RandomTranslation', 'RandomContrast'} <= aug
    x = np.random.default_rng(0).uniform(0, 1, (3, SIZE, SIZE, 3)).astype('float32')
    assert np.array_equal(np.asarray(small(x, training=False)), np.asarray(small(x, training=False)))
    np.testing.assert_allclose(np.asarray(small(x, training=False)).sum(1), 1, atol=1e-5)

# --- data --------------------------------------------------------------------------------------------------

def test_subject_split_keeps_people_apart(synthetic):
    s = subject_split(synthetic, validation=0.2, test=0.2)
    parts = [set(synthetic.subjects[i]) for i in (s.train, s.validation, s.test)]
    assert [len(p) for p in parts] == [12, 4, 4] and not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert sorted(np.concatenate([s.train, s.validation, s.test]).tolist()) == list(range(len(synthetic)))
    assert s.kind == 'subject-grouped' and synthetic.synthetic
    other = subject_split(synthetic, seed=1)
    assert set(synthetic.subjects[other.validation]) != parts[1]
    no_people = synthetic.subset(np.arange(10)); no_people.subjects = np.array(['']*10, dtype=object)
    with pytest.raises(ValueError, match='no subject id'): subject_split(no_people)

def test_seed_layout_with_bad_images(tmp_path):
    faces = make_synthetic_faces(7, 1, 64).images
    root = tmp_path/'seed'
    for i, label in enumerate(['Angry', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise']):
        write_png(root/('training_set' if i < 5 else 'validation_set')/label/f'{i}.png', faces[i])
    write_png(root/'training_set'/'happy'/'grey.png', faces[3][..., 1])
    write_png(root/'training_set'/'happy'/'rgba.png', np.dstack([faces[3], np.full((64, 64), 255, np.uint8)]))
    (root/'training_set'/'happy'/'corrupt.png').write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(range(200)))
    (root/'training_set'/'fear'/'empty.png').write_bytes(b'')
    zero_pixel_png(root/'validation_set'/'sad'/'zero.png')
    write_png(root/'training_set'/'contempt'/'c.png', faces[0])
    (root/'training_set'/'.DS_Store').write_bytes(b'\x00\x00\x00\x01Bud1')
    out = load_face_folders(root, size=SIZE, progress=False)
    assert len(out) == 9 and out.x.shape == (9, SIZE, SIZE, 3) and out.x.dtype == np.float32
    assert 0 <= out.x.min() and out.x.max() <= 1
    assert sorted(set(out.labels)) == list(EMOTIONS)
    assert dict(zip(out.ids, out.splits))[str(root/'training_set'/'Angry'/'0.png')] == 'train'
    assert (out.splits == 'validation').sum() == 2 and not out.synthetic
    reasons = {Path(p).name: r for p, r in out.skipped}
    assert set(reasons) == {'corrupt.png', 'empty.png', 'zero.png', 'c.png', '.DS_Store'}
    assert reasons['empty.png'] == 'empty file: 0 bytes' and "unknown emotion folder 'contempt'" == reasons['c.png']
    assert reasons['.DS_Store'] == 'hidden or system file'
    grey = out.x[list(out.ids).index(str(root/'training_set'/'happy'/'grey.png'))]
    assert np.array_equal(grey[..., 0], grey[..., 2])  # grey became three equal channels
    assert repr(out).startswith('FaceImages: 9 real faces') and ' from seed,' in repr(out) and str(tmp_path) not in repr(out)
    s = subject_split(out)
    assert s.kind == "the dataset's own split" and len(s.train) == 7 and len(s.validation) == 2
    (tmp_path/'empty_dir').mkdir()
    with pytest.raises(FileNotFoundError, match='holds no images'): load_face_folders(tmp_path/'empty_dir')
    with pytest.raises(FileNotFoundError, match='does not exist'): load_face_folders(tmp_path/'missing')

def test_crop_skips_images_without_a_face(tmp_path):
    write_png(tmp_path/'happy'/'blank.png', np.full((80, 80, 3), 128, np.uint8))
    write_png(tmp_path/'happy'/'face.png', make_synthetic_faces(7, 1, 128, seed=3).images[3])
    out = load_face_folders(tmp_path, size=SIZE, crop=True, detector='haar', progress=False)
    assert [Path(p).name for p, _ in out.skipped] == ['blank.png'] and list(out.skipped)[0][1] == 'no face found'
    assert out.crop and len(out) == 1

def test_fer2013_csv(tmp_path):
    px = lambda v: ' '.join([str(v)]*2304)
    (tmp_path/'fer2013.csv').write_text('emotion,pixels,Usage\n'
        f'3,{px(200)},Training\n0,{px(10)},PublicTest\n6,{px(90)},PrivateTest\n9,{px(1)},Training\n2,1 2 3,Training\n')
    out = load_fer2013_images(tmp_path/'fer2013.csv', size=SIZE, progress=False)
    assert list(out.labels) == ['happiness', 'anger', 'neutral'] and list(out.splits) == ['train', 'validation', 'test']
    assert out.x.shape == (3, SIZE, SIZE, 3) and abs(out.x[0].mean() - 200/255) < 1e-6
    assert len(out.skipped) == 2 and subject_split(out).kind == "the dataset's own split"

# --- training ----------------------------------------------------------------------------------------------

def test_short_training_learns_a_separable_subset(synthetic):
    "Three clearly different expressions, people held out: the network must find them well above chance."
    keep = np.flatnonzero(np.isin(synthetic.labels, ['happiness', 'surprise', 'anger']))
    faces = synthetic.subset(keep)
    split = subject_split(faces, validation=0.25, test=0.0)
    run = train_cnn(faces, 'improved', epochs=12, split=split, progress=False)
    assert run.metrics['validation_images'] == 75 and run.metrics['test_images'] == 0
    # chance is 1/7 over the network's 7 outputs, 1/3 among the 3 emotions shown
    assert run.metrics['validation_accuracy'] >= 0.6, run.history
    assert run.metrics['split'] == 'subject-grouped' and run.metrics['data'] == 'synthetic faces'
    assert list(run.history.columns[:4]) == ['accuracy', 'loss', 'val_accuracy', 'val_loss'] and len(run.history) == run.metrics['epochs']

def test_training_is_reproducible_and_time_budget_stops(synthetic):
    faces = synthetic.subset(np.arange(140))
    split = FaceSplit(np.arange(0, 112), np.arange(112, 140), np.arange(0), 'subject-grouped')
    a = train_cnn(faces, 'seed', epochs=1, split=split, progress=False)
    b = train_cnn(faces, 'seed', epochs=1, split=split, progress=False)
    assert all(np.array_equal(u, v) for u, v in zip(a.model.get_weights(), b.model.get_weights()))
    assert a.metrics['validation_accuracy'] == b.metrics['validation_accuracy'] and a.metrics['best_epoch'] == b.metrics['best_epoch']
    c = train_cnn(faces, 'improved', epochs=50, split=split, progress=False, time_budget=0.0)
    assert c.metrics['epochs'] == 1 and c.metrics['stopped_by_time_budget'] and c.metrics['stopped_by'] == 'time budget'

def shifted_validation(synthetic):
    "Faces whose validation part carries the wrong emotion (the next one): the better a network learns, the worse its validation loss."
    faces = synthetic.subset(np.arange(210))
    faces.labels = faces.labels.copy()
    val = np.arange(168, 210)
    faces.labels[val] = [EMOTIONS[(EMOTIONS.index(e) + 1) % len(EMOTIONS)] for e in faces.labels[val]]
    return faces, FaceSplit(np.arange(0, 168), val, np.arange(0), 'subject-grouped')

@pytest.mark.parametrize('arch', ['seed', 'improved'])
def test_early_stopping_stops_and_restores_the_best_weights(synthetic, arch):
    faces, split = shifted_validation(synthetic)
    run = train_cnn(faces, arch, epochs=40, split=split, patience=2, progress=False)
    h, m = run.history, run.metrics
    assert m['stopped_by'] == 'early stopping' and m['epochs'] == len(h) < 40, h
    assert m['best_epoch'] == int(h['val_loss'].idxmin()) and m['epochs'] - m['best_epoch'] == 2  # stopped `patience` epochs after the best
    assert 0 < m['seconds_to_best_epoch'] < m['seconds'] and m['seconds_to_best_epoch'] == pytest.approx(h['seconds'].iloc[:m['best_epoch']].sum(), abs=0.01)
    xv, yv = faces.x[split.validation], faces.y[split.validation]
    loss = run.model.evaluate(xv, yv, batch_size=32, verbose=0, return_dict=True)['loss']
    assert loss == pytest.approx(h['val_loss'][m['best_epoch']], rel=1e-4)  # the kept weights are the best epoch's ...
    assert abs(loss - h['val_loss'].iloc[-1]) > 1e-3                            # ... not the last epoch's
    assert m['validation_accuracy'] == pytest.approx(h['val_accuracy'][m['best_epoch']], abs=1e-6)

def test_same_stopping_rule_for_both_networks_and_no_early_stopping(synthetic):
    stop = lambda arch, p: [(type(c).__name__, c.monitor, c.patience, c.restore_best_weights) for c in training_callbacks(arch, 10, p)
                            if type(c).__name__ == 'EarlyStopping']
    assert stop('seed', 7) == stop('improved', 7) == [('EarlyStopping', 'val_loss', 7, True)]
    assert stop('seed', None) == [] and [type(c).__name__ for c in training_callbacks('improved', 10, None)] == ['EpochTimer', 'ReduceLROnPlateau']
    with pytest.raises(ValueError, match='patience must be at least 1'): training_callbacks('seed', 10, 0)
    faces, split = shifted_validation(synthetic)
    full = train_cnn(faces, 'improved', epochs=3, split=split, patience=None, progress=False)
    assert full.metrics['epochs'] == 3 and full.metrics['stopped_by'] == 'epoch cap' and full.metrics['best_epoch'] == 3
    assert full.settings['patience'] is None and full.settings['epochs'] == 3
    table = compare_runs([full, full])
    assert list(table['stopped by']) == ['epoch cap']*2 and list(table['best epoch']) == [3, 3] and list(table['time vs first']) == [1.0, 1.0]

def test_helpers():
    w = class_weights(np.array([0, 0, 0, 1]), 3)
    assert w == {0: 4/9, 1: 4/3, 2: 0.0}
    lo, hi = accuracy_interval(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-3) and hi == pytest.approx(0.5962, abs=1e-3)
    with pytest.raises(ValueError, match="unknown architecture"): train_cnn(None, 'vgg')

# --- persistence and prediction ----------------------------------------------------------------------------

def test_save_load_identical_predictions(tiny_run, synthetic, tmp_path):
    path = save_cnn(tiny_run, tmp_path/'m.keras')
    meta = json.loads(metadata_path(path).read_text())
    assert meta['labels'] == list(EMOTIONS) and meta['input_size'] == SIZE and meta['synthetic'] is True
    assert meta['metrics']['split'] == 'subject-grouped' and meta['metrics']['data'] == 'synthetic faces'
    assert meta['preprocessing']['function'] == 'emotion_nbdev.cnn.preprocess_face' and meta['versions']['keras'].startswith('3.')
    cnn = load_cnn(path)
    x = synthetic.x[:20]
    assert np.array_equal(cnn.model.predict(x, verbose=0), tiny_run.model.predict(x, verbose=0))
    assert cnn.labels == list(EMOTIONS) and cnn.input_size == SIZE

def test_load_refuses_missing_foreign_and_changed_files(tiny_run, tmp_path):
    path = save_cnn(tiny_run, tmp_path/'m.keras')
    with pytest.raises(CnnModelError, match='does not exist'): load_cnn(tmp_path/'nope.keras')
    foreign = tmp_path/'foreign.keras'; tiny_run.model.save(foreign)
    with pytest.raises(CnnModelError, match='not saved by emotion_nbdev'): load_cnn(foreign)
    changed = tmp_path/'changed.keras'; changed.write_bytes(path.read_bytes()[:-3] + b'abc')
    metadata_path(changed).write_text(metadata_path(path).read_text())
    with pytest.raises(CnnModelError, match='changed after it was saved'): load_cnn(changed)
    other = tmp_path/'other.keras'; other.write_bytes(path.read_bytes())
    metadata_path(other).write_text(json.dumps({'format': 'someone-else/9', 'labels': []}))
    with pytest.raises(CnnModelError, match='not emotion_nbdev CNN metadata'): load_cnn(other)
    metadata_path(other).write_text('{not json')
    with pytest.raises(CnnModelError, match='not readable JSON'): load_cnn(other)
    text = tmp_path/'text.keras'; text.write_text('hello')
    meta = json.loads(metadata_path(path).read_text()); meta['sha256'] = __import__('hashlib').sha256(b'hello').hexdigest()
    metadata_path(text).write_text(json.dumps(meta))
    with pytest.raises(CnnModelError, match='not a .keras archive'): load_cnn(text)
    with pytest.raises(CnnModelError, match='must end in .keras'): save_cnn(tiny_run, tmp_path/'m.h5')

def test_preprocessing_is_identical_in_training_and_prediction(tiny_run, synthetic, tmp_path):
    cnn = load_cnn(save_cnn(tiny_run, tmp_path/'m.keras'))
    found = {i: detect_faces(read_image(synthetic.ids[i])) for i in range(30)}
    whole, cropped = [i for i, b in found.items() if not b][:3], [i for i, b in found.items() if b][:3]
    assert whole and cropped
    for i in whole:  # no face found: the whole image is the face, exactly what training saw
        assert np.array_equal(preprocess_face(read_image(synthetic.ids[i]), SIZE), synthetic.x[i])
        got = predict_face_cnn(synthetic.ids[i], cnn)
        assert len(got) == 1 and got[0]['detected'] is False and got[0]['box'] == (0, 0, 128, 128)
        want = np.asarray(cnn.model(synthetic.x[i][None], training=False))[0]
        np.testing.assert_allclose([got[0]['probabilities'][e] for e in EMOTIONS], want, rtol=0, atol=1e-6)
    for i in cropped:  # a face found: its crop goes through the same preprocess_face
        img = read_image(synthetic.ids[i])
        got = predict_face_cnn(synthetic.ids[i], cnn)
        assert got[0]['detected'] is True and got[0]['box'] == tuple(found[i][0][:4])
        want = np.asarray(cnn.model(preprocess_face(crop_face(img, found[i][0]), SIZE)[None], training=False))[0]
        np.testing.assert_allclose([got[0]['probabilities'][e] for e in EMOTIONS], want, rtol=0, atol=1e-6)

def test_predict_face_cnn_results_and_bad_images(tiny_run, tmp_path):
    cnn = load_cnn(save_cnn(tiny_run, tmp_path/'m.keras'))
    faces = make_synthetic_faces(7, 1, 128, seed=3).images
    group = np.hstack([faces[3], faces[6], faces[0]])
    found = predict_face_cnn(group, cnn, detector='haar')
    assert len(found) >= 1 and all(f['detected'] for f in found)
    for f in found:
        assert set(f) == {'box', 'detected', 'emotion', 'probabilities'} and sorted(f['probabilities']) == sorted(EMOTIONS)
        assert f['emotion'] == max(f['probabilities'], key=f['probabilities'].get) and abs(sum(f['probabilities'].values()) - 1) < 1e-4
        l, t, r, b = f['box']; assert 0 <= l < r <= 384 and 0 <= t < b <= 128
    blank = predict_face_cnn(np.full((50, 60, 3), 90, np.uint8), cnn)
    assert len(blank) == 1 and blank[0]['detected'] is False and blank[0]['box'] == (0, 0, 60, 50) and 'whole image' in blank[0]['note']
    assert predict_face_cnn(faces[3][..., 0], cnn)[0]['emotion'] in EMOTIONS                     # grey array
    assert predict_face_cnn(np.dstack([faces[3], np.full((128, 128), 255, np.uint8)]), cnn)[0]['emotion'] in EMOTIONS  # RGBA
    assert predict_face_cnn(faces[3], tmp_path/'m.keras')[0]['emotion'] in EMOTIONS  # model given by its path
    (tmp_path/'corrupt.png').write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(64))
    with pytest.raises(UnreadableImageError, match='corrupt|not a readable'): predict_face_cnn(tmp_path/'corrupt.png', cnn)
    with pytest.raises(UnreadableImageError, match='0 pixels'): predict_face_cnn(np.zeros((0, 0, 3), np.uint8), cnn)
    with pytest.raises(UnreadableImageError, match='empty image|not a readable'): predict_face_cnn(zero_pixel_png(tmp_path/'zero.png'), cnn)

# --- command line ------------------------------------------------------------------------------------------

def run_cli(*args):
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, timeout=300)

def test_train_cnn_command_end_to_end(tmp_path):
    images = write_synthetic_faces(tmp_path/'faces', n=70, n_subjects=10, size=64)
    out, report = tmp_path/'models'/'cnn.keras', tmp_path/'report.json'
    r = run_cli('train-cnn', images, '-o', out, '--arch', 'improved', '--epochs', '2', '--size', SIZE, '--report', report, '--seed', 3)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'NOTE: synthetic faces' in r.stdout and 'subject-grouped split' in r.stdout
    assert 'improved CNN, 2 epoch(s)' in r.stdout and 'validation accuracy' in r.stdout
    assert 'epoch' in r.stderr  # the per-epoch progress bar
    cnn = load_cnn(out)
    assert cnn.input_size == SIZE and cnn.metadata['training']['seed'] == 3 and cnn.metadata['metrics']['data'] == 'synthetic faces'
    rep = json.loads(report.read_text())
    assert rep['model'] == str(out) and len(rep['history']['epoch']) == 2 and rep['skipped'] == []
    assert {p['part']: p['subjects'] for p in rep['split']} == {'train': 6, 'validation': 2, 'test': 2}
    assert predict_face_cnn(read_image(images/'happiness'/'syn00003.png'), out)[0]['emotion'] in EMOTIONS
    # predict-face takes the .keras model as well as a .skops one; a bad image is reported, the batch goes on
    (tmp_path/'bad.png').write_bytes(b'not an image')
    r = run_cli('predict-face', out, images/'happiness'/'syn00003.png', tmp_path/'bad.png', '--json')
    assert r.returncode == 1, r.stderr[-2000:]
    good, bad = [json.loads(l) for l in r.stdout.splitlines()]
    assert good['faces'][0]['emotion'] in EMOTIONS and abs(sum(good['faces'][0]['probabilities'].values()) - 1) < 1e-5
    assert bad['path'].endswith('bad.png') and 'error' in bad
    r = run_cli('predict-face', tmp_path/'report.json', images/'happiness'/'syn00003.png')
    assert r.returncode == 2 and 'unknown model type .json' in r.stderr

def test_train_cnn_command_errors(tmp_path):
    r = run_cli('train-cnn', tmp_path/'missing', '-o', tmp_path/'m.keras')
    assert r.returncode == 2 and r.stderr.strip() == f'emotion-nbdev train-cnn: error: IMAGE_DIR {tmp_path/"missing"} does not exist or is not a folder'
    r = run_cli('train-cnn', tmp_path, '-o', tmp_path/'m.h5')
    assert r.returncode == 2 and 'must end in .keras' in r.stderr
    r = run_cli('train-cnn', tmp_path, '-o', tmp_path/'m.keras', '--epochs', '0')
    assert r.returncode == 2 and '--epochs must be at least 1' in r.stderr
    r = run_cli('train-cnn', tmp_path, '-o', tmp_path/'m.keras', '--arch', 'vgg')
    assert r.returncode == 2 and "invalid choice: 'vgg'" in r.stderr
    write_png(tmp_path/'plain'/'happy'/'a.png', make_synthetic_faces(7, 1, 64).images[3])
    r = run_cli('train-cnn', tmp_path/'plain', '-o', tmp_path/'m.keras', '--size', SIZE, '-q')
    assert r.returncode == 2 and 'subject-grouped split is impossible' in r.stderr and not (tmp_path/'m.keras').exists()
    r = run_cli('train-cnn', '--help')
    for option in ('IMAGE_DIR', '--output', '--arch', '--epochs', '--report', '--seed', '--size', '--crop'): assert option in r.stdout
