"Face data: landmark CSV validation, photo -> landmarks, bad images, synthetic faces, FER2013 and CK+ loaders."
import struct, zlib
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage.data import astronaut
from emotion_nbdev.core import EMOTIONS
from emotion_nbdev.face_data import (CSV_COLUMNS, LANDMARK_COLUMNS, LandmarkTableError, UnreadableImageError, detect_faces, face_landmarks,
    landmark_array, landmark_table, landmarks_from_images, load_ck_plus, load_fer2013_csv, index_fer2013_folders,
    make_synthetic_faces, normalize_landmarks, read_image, read_landmark_csv, synthetic_faces_dir, validate_landmark_table,
    write_synthetic_faces)

def png_header(path, width, height):
    "A PNG whose header claims width x height pixels and that holds no image data."
    def chunk(kind, data): return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)) + chunk(b'IEND', b''))
    return path

@pytest.fixture(scope='module')
def faces():
    return make_synthetic_faces(140, n_subjects=20, size=128)

@pytest.fixture
def good_csv(tmp_path, faces):
    p = tmp_path/'training_data.csv'
    faces.table.to_csv(p, index=False)
    return p

# --- landmark CSV ----------------------------------------------------------------------------------------------
def test_csv_round_trip(good_csv, faces):
    t = read_landmark_csv(good_csv)
    assert list(t.columns) == CSV_COLUMNS and len(t) == 140 and not t.attrs['synthetic']
    assert np.allclose(landmark_array(t), landmark_array(faces.table))
    assert t['target'].tolist() == [EMOTIONS.index(e) for e in t['targetName']]

@pytest.mark.parametrize('edit,message', [
    (lambda d: d.drop(columns=['x10', 'subject']), 'missing column(s) subject, x10'),
    (lambda d: d.assign(extra=1), 'unexpected column(s) extra'),
    (lambda d: d.assign(y5=d.y5.where(d.index != 3)), 'line 5: column y5 is empty (NaN)'),
    (lambda d: d.assign(x0=d.x0.astype(object).where(d.index != 7, 'twelve')), "line 9: column x0 'twelve' is not a finite number"),
    (lambda d: d.assign(targetName=d.targetName.where(d.index != 2, 'contempt')), "line 4: column targetName: unknown emotion 'contempt'"),
    (lambda d: d.assign(target=d.target.astype(object).where(d.index != 4, 'x')), "line 6: column target 'x' is not an integer"),
    (lambda d: d.assign(target=d.target.where(d.index != 1, 0)), 'column target 0 stands for several targetName values (anger, disgust)'),
    (lambda d: d.assign(subject=d.subject.where(d.index != 6, '')), 'line 8: column subject is empty'),
    (lambda d: d.assign(id=d.id.where(d.index != 9, d.id[0])), "line 11: column id: duplicate id 'syn00000'"),
])
def test_csv_errors_name_column_and_line(tmp_path, faces, edit, message):
    p = tmp_path/'bad.csv'
    edit(faces.table.copy()).to_csv(p, index=False)
    with pytest.raises(LandmarkTableError) as e: read_landmark_csv(p)
    assert str(p) in str(e.value) and message in str(e.value), str(e.value)

def test_csv_index_column_and_empty_and_missing(tmp_path, faces):
    p = tmp_path/'indexed.csv'; faces.table.to_csv(p)
    with pytest.raises(LandmarkTableError, match='a saved pandas index'): read_landmark_csv(p)
    (tmp_path/'empty.csv').write_text('')
    with pytest.raises(LandmarkTableError, match='not a readable CSV'): read_landmark_csv(tmp_path/'empty.csv')
    with pytest.raises(FileNotFoundError, match='does not exist'): read_landmark_csv(tmp_path/'nope.csv')

def test_seed_numeric_columns_and_other_codings(tmp_path, faces):
    seed = faces.table.rename(columns=dict(zip(LANDMARK_COLUMNS, map(str, range(136)))))
    fer_coding = {'anger': 0, 'disgust': 1, 'fear': 2, 'happiness': 3, 'sadness': 4, 'surprise': 5, 'neutral': 6}
    seed = seed.assign(target=seed.targetName.map(fer_coding), targetName=seed.targetName.str.replace('happiness', 'happy'))
    seed.to_csv(tmp_path/'seed.csv', index=False)
    t = read_landmark_csv(tmp_path/'seed.csv')
    assert np.allclose(landmark_array(t), landmark_array(faces.table))
    assert (t.targetName == faces.table.targetName).all()  # labels from targetName, whatever the integer coding

def test_unlabelled_rows(faces):
    t = faces.table.head(3).assign(target=-1, targetName='')
    with pytest.raises(LandmarkTableError, match='unlabelled row'): validate_landmark_table(t)
    assert validate_landmark_table(t, labelled=False)['targetName'].tolist() == ['', '', '']

# --- photos ----------------------------------------------------------------------------------------------------
def test_astronaut_one_face_landmarks_in_box_and_order():
    faces = face_landmarks(astronaut())
    assert len(faces) == 1
    (l, t, r, b), p = faces[0]['box'], faces[0]['landmarks']
    assert p.shape == (68, 2) and faces[0]['score'] > 0.5
    m = 0.15*(r - l)
    assert ((p >= [l - m, t - m]) & (p <= [r + m, b + m])).all()
    n = normalize_landmarks(p)  # eyes level: y is "down the face"
    assert (np.diff(n[0:17, 0]) > 0).all()                                    # jaw runs from the right ear to the left
    assert n[17:27, 1].max() < n[36:48, 1].min() and n[36:48, 1].max() < n[30, 1] < n[51, 1] < n[57, 1] < n[8, 1]
    assert n[48, 0] < n[62, 0] < n[54, 0] and n[36, 0] < n[39, 0] < n[42, 0] < n[45, 0]

def test_haar_detector_finds_the_astronaut():
    faces = face_landmarks(astronaut(), detector='haar')
    assert len(faces) == 1 and 150 < faces[0]['landmarks'][:, 0].mean() < 260

def test_image_variants_give_the_same_face(tmp_path):
    img = astronaut()
    grey = np.asarray(Image.fromarray(img).convert('L'))
    rgba = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    for name, arr in (('grey.png', grey), ('rgba.png', rgba)):
        Image.fromarray(arr).save(tmp_path/name)
        f = face_landmarks(tmp_path/name)
        assert len(f) == 1 and abs(f[0]['landmarks'][30, 0] - face_landmarks(img)[0]['landmarks'][30, 0]) < 6
    assert read_image(grey).shape == (512, 512, 3)
    assert read_image(np.zeros((4, 4), np.uint16) + 65535).max() == 255

@pytest.mark.parametrize('make,reason', [
    (lambda p: p.write_bytes(b'this is not an image at all'), 'not a readable image'),
    (lambda p: p.write_bytes(b''), 'empty file: 0 bytes'),
    (lambda p: png_header(p, 20000, 20000), 'image too large'),
    (lambda p: png_header(p, 0, 0), ''),
    (lambda p: p.write_bytes(open(Path(__file__), 'rb').read()[:0] + b'\x89PNG\r\n\x1a\n' + b'\x00'*40), 'not a readable image'),
])
def test_bad_image_files(tmp_path, make, reason):
    p = tmp_path/'bad.png'; make(p)
    with pytest.raises(UnreadableImageError) as e: read_image(p)
    assert str(e.value).startswith(str(p)) and reason in str(e.value)

def test_truncated_jpeg(tmp_path):
    Image.fromarray(astronaut()).save(tmp_path/'a.jpg')
    data = (tmp_path/'a.jpg').read_bytes()
    (tmp_path/'cut.jpg').write_bytes(data[:len(data)//3])
    with pytest.raises(UnreadableImageError, match='cut.jpg: corrupt image'): read_image(tmp_path/'cut.jpg')

def test_bad_arrays():
    with pytest.raises(UnreadableImageError, match='empty image'): read_image(np.zeros((0, 0, 3), np.uint8))
    with pytest.raises(UnreadableImageError, match='not an image array'): read_image(np.zeros((4, 4, 5), np.uint8))

def test_batch_reports_every_bad_image_and_goes_on(tmp_path):
    root = tmp_path/'photos'; (root/'surprise').mkdir(parents=True)
    Image.fromarray(astronaut()).save(root/'surprise'/'collins.jpg')
    Image.fromarray(np.full((120, 160), 90, np.uint8)).save(root/'surprise'/'blank.png')       # grey, no face
    Image.fromarray(np.hstack([astronaut(), astronaut()])).save(root/'pair.png')                # two faces
    png_header(root/'bomb.png', 20000, 20000)
    (root/'zero.jpg').write_bytes(b'')
    (root/'.DS_Store').write_bytes(b'\x00\x00\x00\x01Bud1')
    (root/'readme.md').write_text('x')
    res = landmarks_from_images(root, progress=False)
    assert len(res.table) == 1 and res.table.targetName[0] == 'surprise' and res.table.subject[0] == 'collins'
    reasons = dict((Path(p).name, r) for p, r in res.skipped)
    assert reasons['blank.png'] == 'no face found' and reasons['pair.png'].startswith('several faces: 2 found')
    assert reasons['bomb.png'].startswith('image too large') and reasons['zero.jpg'] == 'empty file: 0 bytes'
    assert reasons['.DS_Store'] == 'hidden or system file' and reasons['readme.md'] == 'not an image file: .md'
    both = landmarks_from_images([root/'pair.png'], several_faces='all', progress=False).table
    assert len(both) == 2 and both.id.str.endswith(('#0', '#1')).all() and (both.target == -1).all()
    assert len(landmarks_from_images([root/'pair.png'], several_faces='largest', progress=False).table) == 1
    empty = landmarks_from_images([root/'bomb.png'], progress=False)
    assert len(empty.table) == 0 and list(empty.table.columns) == CSV_COLUMNS

# --- every kind of photo a person may send ------------------------------------------------------------------------
ASTRONAUT_BOX = (175, 76, 265, 166)  # dlib's box on the upright astronaut

def exif_rotated(path, orientation):
    "The astronaut stored sideways with the EXIF orientation that makes a viewer show her upright."
    stored = np.rot90(astronaut(), 1 if orientation == 6 else -1)  # 6: turn 90 deg clockwise to view; 8: anticlockwise
    exif = Image.Exif(); exif[0x0112] = orientation
    Image.fromarray(stored).save(path, exif=exif, quality=95)
    return path

@pytest.mark.parametrize('orientation', [6, 8])
def test_exif_rotated_phone_photo_is_read_upright(tmp_path, orientation):
    p = exif_rotated(tmp_path/f'phone{orientation}.jpg', orientation)
    with Image.open(p) as im: as_stored = np.asarray(im.convert('RGB'))
    assert detect_faces(as_stored) == []                                   # the face lies on its side as stored
    img = read_image(p)
    assert img.shape == (512, 512, 3) and np.abs(img.astype(int) - astronaut()).mean() < 4
    boxes = detect_faces(img)
    assert len(boxes) == 1 and np.abs(np.array(boxes[0][:4]) - ASTRONAUT_BOX).max() <= 8

def test_cmyk_jpeg(tmp_path):
    Image.fromarray(astronaut()).convert('CMYK').save(tmp_path/'cmyk.jpg', quality=95)
    with Image.open(tmp_path/'cmyk.jpg') as im: assert im.mode == 'CMYK'
    img = read_image(tmp_path/'cmyk.jpg')
    assert img.shape == (512, 512, 3) and np.abs(img.astype(int) - astronaut()).mean() < 4
    assert len(detect_faces(img)) == 1

def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    Image.fromarray(np.array([[0, 257, 32896, 65535, 200]], np.uint16)).save(tmp_path/'steps16.png')
    with Image.open(tmp_path/'steps16.png') as im: assert im.mode == 'I;16'
    assert read_image(tmp_path/'steps16.png')[0, :, 0].tolist() == [0, 1, 128, 255, 1]   # 200/257 rounds to 1, not 200
    grey = np.asarray(Image.fromarray(astronaut()).convert('L'))
    Image.fromarray(grey.astype(np.uint16)*257).save(tmp_path/'grey16.png')
    assert np.array_equal(read_image(tmp_path/'grey16.png'), np.repeat(grey[..., None], 3, 2))  # exactly the 8-bit grey
    assert len(face_landmarks(tmp_path/'grey16.png')) == 1
    import cv2  # 48-bit RGB PNG (Pillow reads it as 8-bit RGB)
    cv2.imwrite(str(tmp_path/'rgb16.png'), (astronaut().astype(np.uint16)*257)[..., ::-1])
    assert np.abs(read_image(tmp_path/'rgb16.png').astype(int) - astronaut()).max() <= 1

def test_grey_alpha_rgba_and_palette(tmp_path):
    img = astronaut()
    grey = np.asarray(Image.fromarray(img).convert('L'))
    half = np.full(grey.shape, 128, np.uint8)
    Image.fromarray(np.dstack([np.zeros_like(grey), half])).save(tmp_path/'black_half_alpha.png')   # LA
    assert read_image(tmp_path/'black_half_alpha.png')[0, 0].tolist() == [127, 127, 127]         # on white
    Image.fromarray(np.dstack([img, np.where(np.arange(512) < 256, 0, 255).astype(np.uint8)[None].repeat(512, 0)])).save(tmp_path/'rgba.png')
    rgba = read_image(tmp_path/'rgba.png')
    assert (rgba[:, :256] == 255).all() and np.array_equal(rgba[:, 256:], img[:, 256:])   # transparent half -> white
    Image.fromarray(img).convert('P', palette=Image.Palette.ADAPTIVE, colors=256).save(tmp_path/'palette.png')
    with Image.open(tmp_path/'palette.png') as im: assert im.mode == 'P'
    assert np.abs(read_image(tmp_path/'palette.png').astype(int) - img).mean() < 6 and len(face_landmarks(tmp_path/'palette.png')) == 1
    pal = Image.fromarray(np.array([[0, 1]], np.uint8), 'P'); pal.putpalette([255, 0, 0, 0, 0, 255]); pal.info['transparency'] = 0
    pal.save(tmp_path/'palette_transparent.png')
    assert read_image(tmp_path/'palette_transparent.png')[0].tolist() == [[255, 255, 255], [0, 0, 255]]
    Image.fromarray(grey > 128).save(tmp_path/'bilevel.png')
    assert set(np.unique(read_image(tmp_path/'bilevel.png'))) == {0, 255}

def test_one_pixel_image(tmp_path):
    Image.fromarray(np.full((1, 1, 3), 77, np.uint8)).save(tmp_path/'dot.png')
    assert read_image(tmp_path/'dot.png').tolist() == [[[77, 77, 77]]]
    assert face_landmarks(tmp_path/'dot.png') == [] and face_landmarks(tmp_path/'dot.png', detector='haar') == []
    assert dict(landmarks_from_images(tmp_path/'dot.png', progress=False).skipped.items)[str(tmp_path/'dot.png')] == 'no face found'

def test_huge_image_refused_before_decoding(tmp_path, monkeypatch):
    Image.new('L', (7000, 6000)).save(tmp_path/'huge.png')        # a real 42 MP image, small on disk
    from PIL import ImageFile
    def no_decoding(self, *a, **k): raise AssertionError('pixels were decoded')
    monkeypatch.setattr(ImageFile.ImageFile, 'load', no_decoding)
    with pytest.raises(UnreadableImageError, match=r'huge.png: image too large: 7000x6000 pixels \(limit 40,000,000\)'):
        read_image(tmp_path/'huge.png')
    png_header(tmp_path/'big_header.png', 10000, 10000)              # 100 MP: above Pillow's warning threshold
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('error')                                   # no DecompressionBombWarning leaks out
        with pytest.raises(UnreadableImageError, match='image too large: 10000x10000'): read_image(tmp_path/'big_header.png')

@pytest.mark.parametrize('fmt', ['png', 'jpg', 'webp'])
def test_truncated_files(tmp_path, fmt):
    Image.fromarray(astronaut()).save(tmp_path/f'a.{fmt}')
    data = (tmp_path/f'a.{fmt}').read_bytes()
    (tmp_path/f'cut.{fmt}').write_bytes(data[:len(data)//2])
    with pytest.raises(UnreadableImageError) as e: read_image(tmp_path/f'cut.{fmt}')
    assert str(e.value).startswith(str(tmp_path/f'cut.{fmt}')) and ('corrupt image' in e.value.reason or 'not a readable image' in e.value.reason)

def test_non_images_and_odd_pixels(tmp_path):
    (tmp_path/'letter.jpg').write_text('Dear Sir or Madam')
    with pytest.raises(UnreadableImageError, match='letter.jpg: not a readable image: unknown format'): read_image(tmp_path/'letter.jpg')
    (tmp_path/'album.png').mkdir()
    with pytest.raises(UnreadableImageError, match='album.png: a folder, not an image file'): read_image(tmp_path/'album.png')
    Image.fromarray(np.full((4, 4), 1000.0, np.float32)).save(tmp_path/'hdr.tif')
    with pytest.raises(UnreadableImageError, match='hdr.tif: unsupported pixels: float pixels from 1000 to 1000'): read_image(tmp_path/'hdr.tif')
    assert read_image(np.full((2, 2), 0.5, np.float32))[0, 0].tolist() == [128, 128, 128]
    with pytest.raises(UnreadableImageError, match='unsupported pixels'): read_image(np.full((2, 2), -1, np.int16))

# --- synthetic faces -------------------------------------------------------------------------------------------
def test_synthetic_is_deterministic_and_balanced(faces):
    again = make_synthetic_faces(140, n_subjects=20, size=128)
    assert np.array_equal(again.images, faces.images) and again.table.equals(faces.table)
    other = make_synthetic_faces(140, n_subjects=20, size=128, seed=7)
    assert not np.array_equal(other.images, faces.images)
    assert faces.table.targetName.value_counts().to_dict() == {e: 20 for e in EMOTIONS}
    assert faces.table.groupby('subject').targetName.nunique().eq(7).all()
    assert faces.images.shape == (140, 128, 128, 3) and faces.images.dtype == np.uint8

def test_synthetic_landmarks_agree_with_pixels(faces):
    pts, imgs = landmark_array(faces.table), faces.images.astype(int)
    assert (pts > 0).all() and (pts < 128).all()
    def at(k, xy): x, y = np.round(xy).astype(int); return imgs[k, y, x]
    for k in range(len(pts)):
        cheek = at(k, (pts[k, 1] + pts[k, 31])/2 + [0, 0])          # between jaw and nose: skin
        outside = at(k, pts[k, 0] - (pts[k, 16] - pts[k, 0])*0.12)   # beside the jaw: background
        eye = at(k, pts[k, 36:42].mean(0))                           # eye centre: iris, never skin
        assert np.abs(eye - cheek).sum() > 40, k
        assert np.abs(outside - cheek).sum() > 3 or np.abs(outside - at(k, [2, 2])).sum() < 40, k
    opened = np.linalg.norm(pts[:, 66] - pts[:, 62], axis=1) > 0.1*np.linalg.norm(pts[:, 45] - pts[:, 36], axis=1)
    mouth = np.array([at(k, (pts[k, 62] + pts[k, 66])/2).sum() for k in np.flatnonzero(opened)])
    assert opened.sum() >= 15 and (mouth < 200).mean() > 0.9   # an open mouth is dark inside

def test_dlib_finds_synthetic_landmarks_close_to_truth(faces):
    pts, errs = landmark_array(faces.table), []
    for k in range(0, 140, 5):
        f = face_landmarks(faces.images[k])
        if len(f) == 1:
            iod = np.linalg.norm(pts[k, 42:48].mean(0) - pts[k, 36:42].mean(0))
            errs.append(np.linalg.norm(f[0]['landmarks'] - pts[k], axis=1).mean()/iod)
    assert len(errs) >= 17 and np.mean(errs) < 0.2  # HOG finds most cartoon faces (about 70-90%)

def test_synthetic_expressions_move_the_right_points(faces):
    n, lab = normalize_landmarks(landmark_array(faces.table)), faces.table.targetName.to_numpy()
    mean = {e: n[lab == e].mean(0) for e in EMOTIONS}
    assert mean['surprise'][19, 1] < mean['neutral'][19, 1] < mean['anger'][19, 1]
    assert mean['happiness'][48, 1] < mean['neutral'][48, 1] < mean['sadness'][48, 1]
    assert (mean['surprise'][66, 1] - mean['surprise'][62, 1]) > 3*(mean['neutral'][66, 1] - mean['neutral'][62, 1])

def test_write_and_cache(tmp_path):
    out = write_synthetic_faces(tmp_path/'set', n=21, n_subjects=3, size=160)
    t = read_landmark_csv(out/'landmarks.csv')
    assert t.attrs['synthetic'] and len(t) == 21
    for fid, emo in zip(t.id, t.targetName): assert read_image(out/emo/f'{fid}.png').shape == (160, 160, 3)
    with pytest.raises(FileExistsError): write_synthetic_faces(out, n=7)
    a = synthetic_faces_dir(n=14, n_subjects=2, cache=tmp_path/'cache')
    mtime = (a/'landmarks.csv').stat().st_mtime_ns
    assert synthetic_faces_dir(n=14, n_subjects=2, cache=tmp_path/'cache') == a and (a/'landmarks.csv').stat().st_mtime_ns == mtime
    assert not [p for p in (tmp_path/'cache').rglob('.faces-*')]

# --- FER2013 and CK+ -------------------------------------------------------------------------------------------
def test_fer2013_csv(tmp_path):
    px = lambda v, n=2304: ' '.join([str(v)]*n)
    pd.DataFrame({'emotion': [0, 6, 4, 8, 1, 3], 'pixels': [px(10), px(20), px(30), px(1), px(1, 100), '1 x 3'],
                  'Usage': ['Training', 'PublicTest', 'PrivateTest', 'Training', 'Training', 'Training']}).to_csv(tmp_path/'fer2013.csv', index=False)
    imgs, labels, skipped = load_fer2013_csv(tmp_path/'fer2013.csv')
    assert imgs.shape == (3, 48, 48) and imgs[1, 0, 0] == 20
    assert labels.emotion.tolist() == ['anger', 'neutral', 'sadness'] and labels.usage.tolist() == ['Training', 'PublicTest', 'PrivateTest']
    assert [r for _, r in skipped] == ["unknown emotion code '8' (expected 0-6)", 'wrong pixel count: 100 (expected 2304)', 'pixels are not numbers']
    assert [p.rsplit(':', 1)[1] for p, _ in skipped] == ['5', '6', '7']
    pd.DataFrame({'emotion': [1], 'pix': ['1']}).to_csv(tmp_path/'bad.csv', index=False)
    with pytest.raises(LandmarkTableError, match='missing column'): load_fer2013_csv(tmp_path/'bad.csv')

def test_fer2013_folders(tmp_path):
    for rel in ('train/happy/1.jpg', 'train/sad/2.jpg', 'test/surprise/3.jpg', 'test/bored/4.jpg', 'valid/happy/5.jpg'):
        (tmp_path/rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((48, 48), np.uint8)).save(tmp_path/rel)
    idx, skipped = index_fer2013_folders(tmp_path)
    assert sorted(zip(idx.split, idx.emotion)) == [('test', 'surprise'), ('train', 'happiness'), ('train', 'sadness')]
    assert sorted(r.split(' ')[0] for _, r in skipped) == ['not', 'unknown']

def test_ck_plus(tmp_path, faces):
    pts = landmark_array(faces.table)
    def write(subj, seq, frame, p, code=None, text=None):
        stem = f'{subj}_{seq}_{frame:08d}'
        (tmp_path/'Landmarks'/subj/seq).mkdir(parents=True, exist_ok=True)
        if p is not None: np.savetxt(tmp_path/'Landmarks'/subj/seq/f'{stem}_landmarks.txt', p, fmt='%15.7e')
        if code is not None or text is not None:
            (tmp_path/'Emotion'/subj/seq).mkdir(parents=True, exist_ok=True)
            (tmp_path/'Emotion'/subj/seq/f'{stem}_emotion.txt').write_text(text if text is not None else f'   {code:.7e}\n')
    write('S005', '001', 1, pts[0]); write('S005', '001', 11, pts[1], code=3)
    write('S010', '004', 1, pts[2]); write('S010', '004', 19, pts[3], code=7)
    write('S011', '001', 1, pts[4]); write('S011', '001', 9, pts[5], code=2)        # contempt
    write('S012', '001', 5, None, code=5)                                           # no landmark file
    write('S013', '002', 1, pts[6]); write('S013', '002', 7, pts[7][:60], code=1)    # short landmark file
    write('S014', '001', 3, pts[8], text='')                                        # empty emotion file
    t, skipped = load_ck_plus(tmp_path)
    assert t.targetName.tolist() == ['disgust', 'surprise'] and t.subject.tolist() == ['S005', 'S010']
    assert np.allclose(landmark_array(t)[1], pts[3], atol=1e-4)
    assert sorted(skipped.counts()) == sorted(['contempt', 'no landmark file S012_001_00000005_landmarks.txt',
                                              'expected 68 lines of x y, found shape (60, 2)', 'emotion file holds no number'])
    t2, _ = load_ck_plus(tmp_path, neutral_first_frame=True)
    assert t2.targetName.tolist() == ['disgust', 'neutral', 'surprise', 'neutral'] and t2.subject.tolist() == ['S005', 'S005', 'S010', 'S010']
    with pytest.raises(FileNotFoundError, match='not a CK\\+ folder'): load_ck_plus(tmp_path/'Emotion')
