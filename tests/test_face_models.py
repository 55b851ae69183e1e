"Landmark models: normaliser invariance, grouped folds, training report, skops persistence, prediction from photos."
import json, zipfile
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from skimage.data import astronaut
from emotion_nbdev.core import EMOTIONS
from emotion_nbdev.face_data import landmark_array, make_synthetic_faces
from emotion_nbdev.face_models import (FEATURE_SETS, LandmarkDistances, LandmarkNormalizer, UntrustedModelError, check_landmark_transformer,
    compare_landmark_models, evaluate_grouped, landmark_pipeline, landmark_xy, lazy_table, load_landmark_model, predict_face_landmarks,
    random_pose, save_landmark_model, subject_folds, train_landmark_model)

@pytest.fixture(scope='module')
def data():
    faces = make_synthetic_faces(280, n_subjects=20, size=128)
    return faces, *landmark_xy(faces.table)

@pytest.fixture(scope='module')
def trained(data):
    faces = data[0]
    return train_landmark_model(faces.table, grid={'classifier__C': [0.1, 1.0]})

def transform(X, dx, dy, scale, degrees):
    a = np.deg2rad(degrees); R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return ((X.reshape(-1, 68, 2) @ R.T)*scale + [dx, dy]).reshape(len(X), -1)

@settings(max_examples=40, deadline=None)
@given(dx=st.floats(-500, 500), dy=st.floats(-500, 500), scale=st.floats(0.05, 20), degrees=st.floats(-180, 180))
def test_normaliser_is_invariant_to_shift_scale_rotation(dx, dy, scale, degrees):
    X = landmark_array(make_synthetic_faces(7, 1).table).reshape(7, -1)
    n = LandmarkNormalizer().fit(X)
    assert np.allclose(n.transform(transform(X, dx, dy, scale, degrees)), n.transform(X), atol=1e-7)
    d = LandmarkDistances().fit(n.transform(X))
    assert np.allclose(d.transform(n.transform(transform(X, dx, dy, scale, degrees))), d.transform(n.transform(X)), atol=1e-7)

def test_normaliser_output_and_errors(data):
    X = data[1]
    Z = LandmarkNormalizer().fit_transform(X).reshape(-1, 68, 2)
    assert np.allclose(Z[:, 36:42].mean(1), [-0.5, 0]) and np.allclose(Z[:, 42:48].mean(1), [0.5, 0])
    with pytest.raises(ValueError, match='expects 136 features'): LandmarkNormalizer().fit(X[:, :20])
    with pytest.raises(ValueError, match='136 features'): LandmarkNormalizer().fit(X).transform(X[:, :134])
    with pytest.raises(ValueError, match='NaN'): LandmarkNormalizer().fit(np.where(np.eye(len(X), 136, dtype=bool), np.nan, X))
    with pytest.raises(ValueError, match='pairs must be'): LandmarkDistances(pairs=((0, 99),)).fit(X)
    assert LandmarkDistances(keep_coordinates=False).fit(X).transform(X).shape == (len(X), 23)

def test_transformers_follow_sklearn_rules():
    for est in (LandmarkNormalizer(), LandmarkDistances(), LandmarkNormalizer(rotate=False)):
        res = check_landmark_transformer(est)
        assert (res.status == 'passed').sum() >= 15 and 'failed' not in set(res.status)
        assert clone(est).get_params() == est.get_params()

def test_subject_folds_never_share_a_subject(data):
    groups = data[3]
    folds = subject_folds(groups, 5)
    assert len(folds) == 5
    seen = set()
    for tr, te in folds:
        assert not set(groups[tr]) & set(groups[te])
        seen |= set(groups[te])
    assert seen == set(groups)
    with pytest.raises(ValueError, match='at least 2 subjects'): subject_folds(np.array(['a']*10))

def test_grouped_evaluation_and_comparison(data):
    _, X, y, groups = data
    g = evaluate_grouped(landmark_pipeline(LogisticRegression(max_iter=2000), 'distances'), X, y, groups)
    assert len(g['accuracy']) == 5 and g['accuracy'].mean() > 0.6 and set(g['predictions']) <= set(EMOTIONS)
    t = compare_landmark_models({'logreg': LogisticRegression(max_iter=2000)}, X, y, groups, n_repeats=3, n_splits=3)
    assert list(t.index.get_level_values('features')) == list(FEATURE_SETS) and t.random_split.str.contains('±').all()

def test_lazy_table_runs_on_grouped_split(data):
    _, X, y, groups = data
    t = lazy_table(X, y, groups, features=('distances',), classifiers=('LogisticRegression', 'LinearDiscriminantAnalysis'))
    assert set(t.Model) == {'LogisticRegression', 'LinearDiscriminantAnalysis'} and (t.Accuracy > 0.5).all()

def test_training_report_keys_and_determinism(data, trained):
    model, report = trained
    for k in ('accuracy', 'macro_f1', 'uar', 'auc_ovr_macro', 'auc_ovr_micro', 'confusion', 'labels', 'split', 'folds', 'best_params', 'search_seconds'):
        assert k in report, k
    assert report['split'] == 'subject' and report['folds'] == 5 and report['labels'] == list(EMOTIONS)
    assert np.array(report['confusion']).sum() == 280 and report['data']['synthetic'] and report['data']['subjects'] == 20
    assert report['accuracy'] == pytest.approx(np.trace(report['confusion'])/280)
    _, again = train_landmark_model(data[0].table, grid={'classifier__C': [0.1, 1.0]})
    for k in ('accuracy', 'macro_f1', 'uar', 'auc_ovr_macro', 'confusion', 'best_params'): assert again[k] == report[k]

def test_save_load_round_trip(tmp_path, data, trained):
    model, report = trained
    p = save_landmark_model(model, tmp_path/'m.skops', report)
    loaded, meta = load_landmark_model(p)
    assert np.array_equal(loaded.predict_proba(data[1]), model.predict_proba(data[1]))
    assert meta['labels'] == list(EMOTIONS) and meta['feature_layout_version'] == 1 and meta['report']['split'] == 'subject'
    assert {'scikit-learn', 'numpy', 'skops', 'emotion_nbdev'} <= set(meta['versions'])

def test_tampered_and_foreign_files_refused(tmp_path, trained):
    import skops.io as sio
    p = save_landmark_model(trained[0], tmp_path/'m.skops')
    # tamper: point the LogisticRegression's class at os.system inside the archive's schema
    with zipfile.ZipFile(p) as z: files = {n: z.read(n) for n in z.namelist()}
    files['schema.json'] = files['schema.json'].replace(b'"sklearn.linear_model._logistic"', b'"os"').replace(b'"LogisticRegression"', b'"system"')
    with zipfile.ZipFile(tmp_path/'tampered.skops', 'w') as z:
        for n, b in files.items(): z.writestr(n, b)
    with pytest.raises(UntrustedModelError, match='untrusted type'): load_landmark_model(tmp_path/'tampered.skops')
    sio.dump({'weights': np.zeros(3)}, tmp_path/'foreign.skops')
    with pytest.raises(UntrustedModelError, match='not a emotion_nbdev.face_landmark_model model'): load_landmark_model(tmp_path/'foreign.skops')
    (tmp_path/'text.skops').write_text('hello')
    with pytest.raises(UntrustedModelError, match='not a skops model file'): load_landmark_model(tmp_path/'text.skops')
    with pytest.raises(FileNotFoundError): load_landmark_model(tmp_path/'none.skops')
    meta_bad = tmp_path/'old.skops'
    sio.dump({'format': 'emotion_nbdev.face_landmark_model', 'model': trained[0], 'metadata': json.dumps({'feature_layout_version': 0})}, meta_bad)
    with pytest.raises(UntrustedModelError, match='feature layout version 0'): load_landmark_model(meta_bad)

def test_predict_from_landmarks_and_photo(data, trained):
    model = trained[0]
    fresh = make_synthetic_faces(21, n_subjects=3, seed=99)
    pts = landmark_array(fresh.table)
    r = predict_face_landmarks(model, pts)
    assert len(r) == 21 and r[0]['box'] is None and len(r[0]['landmarks']) == 68
    assert all(abs(sum(x['probabilities'].values()) - 1) < 1e-3 and set(x['probabilities']) == set(EMOTIONS) for x in r)
    assert np.mean([x['emotion'] == t for x, t in zip(r, fresh.table.targetName)]) > 0.6
    assert predict_face_landmarks(model, pts[0])[0]['emotion'] == r[0]['emotion']
    assert predict_face_landmarks(model, pts.reshape(21, -1))[5]['probabilities'] == r[5]['probabilities']
    photo = predict_face_landmarks(model, astronaut())
    assert len(photo) == 1 and 150 < photo[0]['box'][0] < 200 and photo[0]['emotion'] in EMOTIONS
    assert predict_face_landmarks(model, np.full((200, 200, 3), 128, np.uint8)) == []

def test_random_pose_moves_scales_and_tilts_each_face(data):
    X = data[1][:50]
    P, Q = X.reshape(-1, 68, 2), random_pose(X).reshape(-1, 68, 2)
    d = lambda A: np.linalg.norm(A[:, 36:42].mean(1) - A[:, 42:48].mean(1), axis=1)
    factor = d(Q)/d(P)
    assert 0.5 <= factor.min() and factor.max() <= 2.0 and factor.std() > 0.1          # each face its own size
    assert np.allclose(np.linalg.norm(Q[:, 8] - Q[:, 27], axis=1)/np.linalg.norm(P[:, 8] - P[:, 27], axis=1), factor)  # a similarity
    assert np.array_equal(random_pose(X, seed=3), random_pose(X, seed=3)) and not np.array_equal(random_pose(X, seed=3), random_pose(X))

def test_pose_change_leaves_invariant_features_and_hurts_raw_coordinates(data):
    "Faces photographed at other sizes, tilts and positions: the reason the default features are normalised."
    _, X, y, groups = data
    acc = {}
    for f in FEATURE_SETS:
        pipe = landmark_pipeline(LogisticRegression(max_iter=2000, random_state=0), f)
        acc[f] = (evaluate_grouped(pipe, X, y, groups)['accuracy'].mean(),
                  evaluate_grouped(pipe, X, y, groups, test_transform=random_pose)['accuracy'].mean())
    for f in ('normalised', 'distances'): assert acc[f][0] == pytest.approx(acc[f][1], abs=1e-12), acc
    assert acc['raw'][1] < acc['raw'][0] - 0.1 and acc['raw'][1] < acc['distances'][1] - 0.1, acc
