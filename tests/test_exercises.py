"The chapters' exercise checks: each says 'not yet' to a wrong answer (and to none) and 'right' to the solution."
import tempfile, zipfile
from pathlib import Path
import numpy as np
import pytest
from threadpoolctl import threadpool_limits
import emotion_nbdev.exercises as ex
from emotion_nbdev.core import EMOTIONS, ModelCard, SkipReport, is_hidden_or_system

def right(v): return v == 'right'
def not_yet(v): return isinstance(v, ex.Verdict) and v.startswith('not yet: ') and len(v) > len('not yet: ') + 10

@pytest.fixture(autouse=True)
def one_thread():
    with threadpool_limits(1): yield  # many small fits: threaded BLAS only oversubscribes the cores

def test_every_chapter_has_three_checks_that_ask_when_called_with_nothing():
    table = ex.exercise_table()
    assert table.groupby('chapter').size().min() >= 3, table.groupby('chapter').size()
    assert {'00_core', '01_audio_data', '01b_datasets', '03_audio_model', '03a_prox_solver', '03b_explain_voice',
            '04_face_data', '05_face_landmarks', '06_face_cnn'} <= set(table.chapter)
    for name in table.check:
        v = getattr(ex, name)()
        assert not_yet(v) and v.startswith('not yet: pass '), (name, v)
        assert repr(v) == str(v)  # shown as plain text in a notebook

def test_core_checks():
    assert right(ex.check_refused_spellings({'Bored', 'contempt'}))
    assert not_yet(ex.check_refused_spellings({'Bored', 'contempt', 'calm'})) and not_yet(ex.check_refused_spellings({'Bored'}))
    assert not_yet(ex.check_refused_spellings({'angry!'}))
    report = SkipReport()
    for rel in ex.CORE_WALK:
        if is_hidden_or_system(ex.CORE_ROOT/rel, ex.CORE_ROOT): report.add(ex.CORE_ROOT/rel, 'hidden or system file')
    assert right(ex.check_skip_report(report))
    report.add(ex.CORE_ROOT/ex.CORE_WALK[0], 'hidden or system file')
    assert not_yet(ex.check_skip_report(report)) and not_yet(ex.check_skip_report(['x']))
    card = lambda std: lambda name, f: ModelCard(name=name, task='t', model='m', data='synthetic', trained_on={}, split=f'speaker-grouped, {len(f)} folds',
                                                 classes=list(EMOTIONS), metrics={'accuracy': np.mean(f)}, spread={'accuracy': std(f)}, per_fold={'accuracy': f})
    assert right(ex.check_card_from_folds(card(np.std)))
    assert not_yet(ex.check_card_from_folds(card(lambda f: np.std(f, ddof=1)))) and not_yet(ex.check_card_from_folds(lambda name, f: 1/0))

def write_tree(root, text_bytes=b'x'):
    import soundfile as sf
    for rel in ex.RAVDESS_TREE:
        p = root/rel; p.parent.mkdir(parents=True, exist_ok=True)
        if p.suffix == '.wav' and not p.name.startswith('.'): sf.write(p, np.zeros(4000) + 0.1*np.sin(np.arange(4000)), 16000)
        else: p.write_bytes(text_bytes)
    return root

def test_audio_data_checks(tmp_path):
    from emotion_nbdev.audio_data import index_dataset, load_synthetic_speech
    assert right(ex.check_file_labels({'crema-d': 'DIS', 'tess': 'sad', 'savee': 'surprise', 'ravdess': 'fearful'}))  # any dataset spelling
    assert not_yet(ex.check_file_labels({'crema-d': 'disgust', 'tess': 'anger', 'savee': 'surprise', 'ravdess': 'fear'}))
    by_sex = load_synthetic_speech().manifest.groupby('sex')['duration'].mean().to_dict()
    assert right(ex.check_duration_by_sex(by_sex)) and not_yet(ex.check_duration_by_sex({k: v + 0.01 for k, v in by_sex.items()}))
    idx = index_dataset(write_tree(tmp_path/'a'), 'ravdess', calm='drop')
    assert right(ex.check_ravdess_index(idx)) and right(ex.check_ravdess_index(idx.skipped.counts()))
    assert not_yet(ex.check_ravdess_index(index_dataset(write_tree(tmp_path/'b'), 'ravdess')))  # calm kept

def test_datasets_checks():
    ok = ['md5:d41d8cd98f00b204e9800998ecf8427e', 'error', 'md5:d41d8cd98f00b204e9800998ecf8427e', 'error', None]
    assert right(ex.check_parse_hash(ok)) and not_yet(ex.check_parse_hash(ok[:-1] + ['error']))
    assert right(ex.check_standin({'clips': 48, 'female_actors': 1})) and not_yet(ex.check_standin({'clips': 48, 'female_actors': 2}))
    assert right(ex.check_resume_calls(3)) and not_yet(ex.check_resume_calls(2))

@pytest.fixture(scope='module')
def speech():
    from emotion_nbdev.features import FEATURE_NAMES
    f = ex._speech_frame()
    return f, f[FEATURE_NAMES].to_numpy(float), f['emotion'].to_numpy()

def test_audio_model_checks(speech):
    from sklearn.model_selection import GroupKFold, cross_val_score
    from emotion_nbdev.audio_model import audio_pipeline, make_folds
    f, X, y = speech
    acc = lambda X, folds: cross_val_score(audio_pipeline(C=1.0, penalty='l2'), X, y, cv=folds, scoring='accuracy').mean()
    by_sentence = acc(X, list(GroupKFold(n_splits=3).split(X, y, f['sentence'])))
    assert right(ex.check_sentence_grouped_accuracy(by_sentence)) and not_yet(ex.check_sentence_grouped_accuracy(acc(X, make_folds(f))))
    assert right(ex.check_pca_without_scaling('Fewer')) and not_yet(ex.check_pca_without_scaling('more'))
    duration = lambda t: t[['duration']].to_numpy()
    with_duration = acc(np.hstack([X, duration(f)]), make_folds(f))
    assert right(ex.check_feature_group(duration, with_duration)) and not_yet(ex.check_feature_group(duration, with_duration + 0.02))
    assert 'never the label' in ex.check_feature_group(lambda t: t[['emotion']], with_duration)
    assert 'infinite' in ex.check_feature_group(lambda t: np.full((len(t), 1), np.nan), with_duration)

def test_prox_and_explain_checks():
    assert right(ex.check_l1_sparsity('fewer')) and not_yet(ex.check_l1_sparsity('the same'))
    assert right(ex.check_best_shift({1.0: 1.0, 0.0: 1.75})) and not_yet(ex.check_best_shift({1.0: 2.0, 0.0: 1.75}))
    L = ex.check_curvature_factor.__wrapped__ if hasattr(ex.check_curvature_factor, '__wrapped__') else None
    from emotion_nbdev.prox import prox_metric
    S = ex._prox_fold()[2]
    ref = prox_metric(S)[0]/(0.5*(S[:, 0]**2).mean())
    assert ref > 2 and right(ex.check_curvature_factor(ref)) and not_yet(ex.check_curvature_factor(1.0))
    assert right(ex.check_top_group('mel')) and not_yet(ex.check_top_group('rms'))
    assert right(ex.check_missing_rms('zero')) and not_yet(ex.check_missing_rms('negative'))
    assert right(ex.check_explainable({'prox', 'lbfgs', 'whitened'})) and not_yet(ex.check_explainable({'prox', 'lbfgs'}))
    assert not_yet(ex.check_explainable({'prox', 'lbfgs', 'whitened', 'forest'}))

def test_face_data_checks():
    from emotion_nbdev.face_data import landmark_array, make_synthetic_faces, normalize_landmarks
    t = make_synthetic_faces(70, n_subjects=10).table
    P, e = normalize_landmarks(landmark_array(t)), t['targetName'].to_numpy()
    w = {k: np.linalg.norm(P[e == k, 48] - P[e == k, 54], axis=1).mean() for k in ('happiness', 'neutral')}
    assert right(ex.check_mouth_width(w)) and not_yet(ex.check_mouth_width({'happiness': w['neutral'], 'neutral': w['happiness']}))
    ratio = lambda p: np.linalg.norm(p[:, 62] - p[:, 66], axis=1)/np.linalg.norm(p[:, 60] - p[:, 64], axis=1)
    assert right(ex.check_mouth_ratio(ratio)) and not_yet(ex.check_mouth_ratio(lambda p: np.linalg.norm(p[:, 62] - p[:, 66], axis=1)))
    fates = {'grey16.png': 'ok', 'clear.png': 'ok', 'empty.png': 'error', 'notes.png': 'error', 'wide.png': 'error'}
    assert right(ex.check_read_image(fates)) and 'wide.png' in ex.check_read_image({**fates, 'wide.png': 'ok'})

def test_landmark_checks():
    from emotion_nbdev.face_models import evaluate_grouped, landmark_pipeline, random_pose
    assert right(ex.check_pose_loss('raw')) and not_yet(ex.check_pose_loss('distances'))
    X, y, g = ex._face_xy()
    posed = evaluate_grouped(landmark_pipeline(ex._landmark_lr(), 'distances'), X, y, g, test_transform=random_pose)['accuracy'].mean()
    assert right(ex.check_pose_accuracy(posed)) and not_yet(ex.check_pose_accuracy(posed - 0.05))
    pairs = ((51, 57), (48, 54))
    assert not_yet(ex.check_distance_pairs(pairs, 0.99)) and not_yet(ex.check_distance_pairs([(0, 1)]*7, 0.5))
    assert not_yet(ex.check_distance_pairs([(0, 68)], 0.5))

def test_distance_pairs_right():
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from emotion_nbdev.face_models import LandmarkDistances, LandmarkNormalizer, evaluate_grouped
    pairs = ((51, 57), (48, 54))
    pipe = Pipeline([('n', LandmarkNormalizer()), ('d', LandmarkDistances(pairs, keep_coordinates=False)), ('s', StandardScaler()), ('c', ex._landmark_lr())])
    X, y, g = ex._face_xy()
    assert right(ex.check_distance_pairs(pairs, evaluate_grouped(pipe, X, y, g)['accuracy'].mean()))

def test_cnn_checks():
    from emotion_nbdev.cnn import accuracy_interval, seed_cnn
    assert right(ex.check_largest_layer('Dense')) and not_yet(ex.check_largest_layer('Conv2D'))
    assert right(ex.check_seed_cnn_weights(seed_cnn(input_size=64).count_params())) and not_yet(ex.check_seed_cnn_weights(seed_cnn().count_params()))
    width = lambda n: accuracy_interval(round(0.8*n), n)[1] - accuracy_interval(round(0.8*n), n)[0]
    n = next(n for n in range(10, 10_000, 10) if width(n) <= 0.1)
    assert width(n - 10) > 0.1 and right(ex.check_test_set_size(n)) and not_yet(ex.check_test_set_size(n + 10))
