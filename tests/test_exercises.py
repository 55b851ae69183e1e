"The chapters' exercise checks: each says 'not yet' to a wrong answer (and to none) and 'right' to the solution."
import json, re
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
    chapters = {p.stem for p in (Path(__file__).parents[1]/'nbs').glob('0*.ipynb')}
    assert chapters <= set(table.chapter), chapters - set(table.chapter)  # every numbered chapter has its exercises
    for name in table.check:
        v = getattr(ex, name)()
        assert not_yet(v) and v.startswith('not yet: pass '), (name, v)
        assert repr(v) == str(v)  # shown as plain text in a notebook

def test_chapter_exercise_sections_call_their_own_checks():
    "A chapter's Exercises section calls each of its registered checks, with nothing (the reader supplies the answer)."
    table, found = ex.exercise_table(), 0
    for nb in sorted((Path(__file__).parents[1]/'nbs').glob('0*.ipynb')):
        cells = json.loads(nb.read_text())['cells']
        start = next((i for i, c in enumerate(cells) if c['cell_type'] == 'markdown' and ''.join(c['source']).startswith('## Exercises')), None)
        if start is None: continue
        found += 1
        code = [''.join(c['source']).strip() for c in cells[start:] if c['cell_type'] == 'code']
        calls = [c for c in code if re.fullmatch(r'check_\w+\(\)', c)]
        assert [c[:-2] for c in calls] == table[table.chapter == nb.stem].check.tolist(), (nb.name, calls)
        assert all(re.fullmatch(r'(from emotion_nbdev\.exercises import [\w, ]+|check_\w+\(\))', c) for c in code), nb.name  # no solution in the chapter
        outputs = [''.join(o['data']['text/plain']) for c in cells[start:] if c['cell_type'] == 'code' for o in c['outputs']]
        assert len(outputs) == len(calls) and all(o.startswith('not yet: pass ') for o in outputs), (nb.name, outputs)
    assert found >= 9

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
    weights = seed_cnn(input_size=64).count_params()
    assert right(ex.check_seed_cnn_weights(weights)) and not_yet(ex.check_seed_cnn_weights(weights + 1))
    width = lambda n: accuracy_interval(round(0.8*n), n)[1] - accuracy_interval(round(0.8*n), n)[0]
    n = next(n for n in range(10, 10_000, 10) if width(n) <= 0.1)
    assert width(n - 10) > 0.1 and right(ex.check_test_set_size(n)) and not_yet(ex.check_test_set_size(n + 10))

def test_audio_features_checks():
    assert right(ex.check_loudness_invariance({'zcr', 'chroma', 'contrast', 'tonnetz'}))
    assert not_yet(ex.check_loudness_invariance({'zcr', 'chroma', 'contrast', 'tonnetz', 'mfcc'})) and not_yet(ex.check_loudness_invariance({'chroma'}))
    from emotion_nbdev.features import FEATURE_SR, augment_rng, augment_signal
    y, clip = ex._first_clip()
    noisy, drawn = augment_signal(y, FEATURE_SR, 'noise', augment_rng(clip, 'noise'))
    snr = 10*np.log10(np.mean(y.astype(float)**2)/np.mean((noisy.astype(float) - y)**2))
    assert abs(snr - drawn) < 0.5 and right(ex.check_noise_snr(snr)) and not_yet(ex.check_noise_snr(snr + 0.5))
    assert right(ex.check_short_clip('error')) and not_yet(ex.check_short_clip('features'))

def test_pretrained_face_checks():
    assert right(ex.check_square_box({'unclipped': (20, 20, 120, 120), 'clipped': (20, 20, 120, 100)}))
    assert not_yet(ex.check_square_box({'unclipped': (20, 20, 120, 120), 'clipped': (20, 20, 120, 120)}))
    from emotion_nbdev.face_pretrained import FER_LABELS
    assert right(ex.check_fer_reorder(lambda P: P[:, [FER_LABELS.index(e) for e in EMOTIONS]])) and not_yet(ex.check_fer_reorder(lambda P: P))
    assert right(ex.check_stable_faces([0, 1])) and not_yet(ex.check_stable_faces([0, 1, 2]))

def test_trust_checks():
    from emotion_nbdev.trust import expected_calibration_error
    y, p, labels = ex.trust_toy()
    assert set(y) == set(labels) and np.allclose(p.sum(1), 1)
    calibrated, over = expected_calibration_error(y, p, labels), expected_calibration_error(*ex.trust_toy(True))
    assert calibrated < over and right(ex.check_toy_ece(over)) and not_yet(ex.check_toy_ece(calibrated))
    assert right(ex.check_toy_temperature('above')) and not_yet(ex.check_toy_temperature('below'))
    s = np.sort(ex.TRUST_SCORES)
    assert right(ex.check_conformal({0.95: s[38], 0.99: float('inf')})) and not_yet(ex.check_conformal({0.95: s[37], 0.99: s[-1]}))

def test_timeline_app_cli_checks():
    assert right(ex.check_box_iou(600/2600)) and not_yet(ex.check_box_iou(600/3200))
    assert right(ex.check_hangover([1]*11 + [0])) and not_yet(ex.check_hangover([0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0])) and not_yet(ex.check_hangover([1]))
    assert right(ex.check_sine_level(10*np.log10(0.125))) and not_yet(ex.check_sine_level(-6.02))
    assert right(ex.check_user_message("my clip.wav: corrupt or unsupported audio: Error opening 'my clip.wav' (see <server file>)"))
    assert not_yet(ex.check_user_message(ex.UPLOAD_ERROR))
    assert right(ex.check_upload_bytes(2_621_440)) and not_yet(ex.check_upload_bytes(2_500_000))
    assert right(ex.check_refusal_status({'too large': 413, 'no face': 422, 'queue full': 503, 'too slow': 504}))
    assert not_yet(ex.check_refusal_status({'too large': 400, 'no face': 422, 'queue full': 503, 'too slow': 504}))
    assert right(ex.check_exit_statuses([0, 2, 2])) and not_yet(ex.check_exit_statuses([0, 1, 2]))
    assert not_yet(ex.check_commands({'download', 'index'})) and 'no such command' in ex.check_commands({'fly'})
    assert right(ex.check_index_defaults({'dataset': 'auto', 'calm': 'keep', 'media': 'audio', 'show_skipped': 10}))
    assert not_yet(ex.check_index_defaults({'dataset': 'auto', 'calm': 'drop', 'media': 'audio', 'show_skipped': 10}))
