"Calibration and novelty flag (`emotion_nbdev.trust`) on the embedded synthetic data: measured numbers, the flag on foreign input, persistence, determinism."
import os
os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
import numpy as np
import pytest
from emotion_nbdev.core import SkipReport, UntrustedModelError, save_skops
from emotion_nbdev.trust import (ALSA_SOUNDS, CALIBRATION_METHODS, NOVELTY_METHODS, TWO_VIEW, HUMAN_VOICE_SOURCES, apply_calibration,
                                 audio_probes, audio_trust, fresh_synthetic_features, human_voice_features, LogPower, TwoViewNovelty,
                                 alsa_voice_features, conformal_threshold, expected_calibration_error, feature_step, grouped_splits,
                                 landmark_probes, landmark_trust, load_trust, oof_novelty, ovr_calibration, reliability_table,
                                 novelty_detector, save_trust, temperature_scale, trust_path, Trust)


@pytest.fixture(scope='module')
def audio():
    from emotion_nbdev.audio_data import load_synthetic_speech
    from emotion_nbdev.features import extract_features
    from emotion_nbdev.audio_model import train_audio_model
    frame = extract_features(load_synthetic_speech().manifest, progress=False).frame
    model, _ = train_audio_model(frame, grid='report', cv='speaker', folds=5)  # as the demo trains it
    return frame, model, audio_trust(frame, model)


@pytest.fixture(scope='module')
def faces():
    from emotion_nbdev.face_data import load_synthetic_faces
    from emotion_nbdev.face_models import train_landmark_model
    table = load_synthetic_faces()
    model, _ = train_landmark_model(table)
    return table, model, landmark_trust(table, model)


def test_ece_equals_hand_computation():
    y = np.array(['a', 'b', 'a', 'a'])
    p = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.4, 0.6]])
    # bins: 0.9 right (gap 0.1), 0.8 wrong (gap 0.8), two at 0.6 with one right (gap 0.1, weight 2)
    assert expected_calibration_error(y, p, ['a', 'b']) == pytest.approx((0.1 + 0.8 + 2*0.1)/4, abs=1e-12)
    t = reliability_table(y, p, ['a', 'b'])
    assert t['count'].tolist() == [2, 1, 1] and t['accuracy'].tolist() == [0.5, 0.0, 1.0]
    # confidence exactly 1.0 falls in the last bin, 0.05 in the first
    assert expected_calibration_error(['a', 'b'], np.array([[1.0, 0.0], [0.95, 0.05]]), ['a', 'b']) == pytest.approx(abs(0.5 - 0.975))
    assert expected_calibration_error(['a'], np.array([[0.5, 0.5]]), ['a', 'b'], n_bins=2) == pytest.approx(0.5)


def test_calibration_improves_landmark_model(faces):
    r = faces[2].report
    assert r['calibration_method'] != 'none'
    assert r['log_loss'] < r['log_loss_before'] and r['ece'] < r['ece_before']
    assert r['ece'] <= 0.05  # the goal, reached on held-out subjects
    rows = {row['method']: row for row in r['calibration_table']}
    assert set(rows) == set(CALIBRATION_METHODS)
    assert rows[r['calibration_method']]['log_loss'] == min(row['log_loss'] for row in rows.values())


def test_calibration_improves_audio_log_loss(audio):
    r = audio[2].report
    assert r['calibration_method'] != 'none'
    assert r['log_loss'] < r['log_loss_before']  # nested, speaker-grouped
    # the 0.05 ECE goal is not reached for audio; the report keeps the number and the noise floor of 210 clips
    assert r['ece'] > 0.05 and 0.0 < r['ece_noise_floor']['mean'] < r['ece_noise_floor']['p95']


def test_assess_applies_the_calibration(faces):
    table, model, trust = faces
    from emotion_nbdev.face_models import landmark_xy
    X = landmark_xy(table)[0][:20]
    P = np.array([list(a['probabilities'].values()) for a in trust.assess(model, X)])
    assert trust.calibration['method'] == 'temperature' and abs(trust.calibration['temperature'] - 1) > 0.05
    np.testing.assert_allclose(P, temperature_scale(model.predict_proba(X), trust.calibration['temperature']), atol=1e-12)
    assert np.abs(P - model.predict_proba(X)).max() > 1e-3  # not the raw probabilities


def test_ovr_calibration_matches_scikit_learn(faces):
    from emotion_nbdev.face_models import landmark_xy
    X, y, g = landmark_xy(faces[0])
    for method in ('sigmoid', 'isotonic'):
        cal, cc = ovr_calibration(faces[1], X, y, grouped_splits(g), method)
        np.testing.assert_allclose(apply_calibration(cal, cc.calibrated_classifiers_[0].estimator, X), cc.predict_proba(X), atol=1e-12)


@pytest.mark.parametrize('which', ['audio', 'faces'])
def test_flag_passes_heldout_synthetic_inputs(which, request):
    data, model, trust = request.getfixturevalue(which)
    assert trust.report['heldout_pass_rate'] >= 0.95  # nested: threshold set without the held-out speakers/subjects
    if which == 'audio':
        from emotion_nbdev.features import FEATURE_NAMES
        from emotion_nbdev.audio_model import speaker_groups
        X, g = data[FEATURE_NAMES].to_numpy(float), speaker_groups(data)
    else:
        from emotion_nbdev.face_models import landmark_xy
        X, _, g = landmark_xy(data)
    scores = oof_novelty(model, X, grouped_splits(g), trust.novelty_method, g)
    assert np.mean(scores <= trust.threshold) >= 0.95
    assert trust.threshold == conformal_threshold(scores, 0.95)


@pytest.mark.skipif(not ALSA_SOUNDS.is_dir() or not any(ALSA_SOUNDS.glob('*.wav')),
                    reason='/usr/share/sounds/alsa (Debian alsa-utils voice prompts) is not installed')
def test_flag_catches_real_voices(audio):
    _, model, trust = audio
    voices = {k: v for k, v in alsa_voice_features().items() if 'Noise' not in k}
    assert len(voices) >= 8
    res = trust.assess(model, np.array(list(voices.values())))
    assert [r['in_distribution'] for r in res] == [False]*len(voices)
    assert min(r['novelty'] for r in res) > 10*trust.threshold


def _installed(source):
    folder, pattern = HUMAN_VOICE_SOURCES[source]
    from pathlib import Path
    return any(Path(folder).glob(pattern))

@pytest.mark.skipif(not all(_installed(s) for s in HUMAN_VOICE_SOURCES),
                    reason='the Debian packages of HUMAN_VOICE_SOURCES (real recorded speech) are not all installed')
def test_flag_catches_every_human_voice_and_passes_fresh_synthetic_ones(audio):
    "Every recording of a real person that Debian installs is flagged; clips of unseen synthetic voices and sentences mostly pass."
    from emotion_nbdev.features import FEATURE_NAMES
    frame, model, trust = audio
    assert trust.novelty_method == TWO_VIEW
    human = human_voice_features()
    assert human['source'].nunique() == len(HUMAN_VOICE_SOURCES) and len(human) >= 60
    res = trust.assess(model, human[FEATURE_NAMES].to_numpy(float))
    assert [r['in_distribution'] for r in res] == [False]*len(human)
    fresh = fresh_synthetic_features(voices=('en+m5', 'en-us+f4', 'en+croak'), sentences=('Please close the window.',))
    passed = np.mean([r['in_distribution'] for r in trust.assess(model, fresh[FEATURE_NAMES].to_numpy(float))])
    assert passed >= 0.9


def test_log_power_view_and_two_view_scores(audio):
    "LogPower puts mel and RMS in decibels and leaves the rest; the two-view score is the larger scaled distance."
    from emotion_nbdev.features import FEATURE_NAMES, FEATURE_SLICES
    frame, model, trust = audio
    X = frame[FEATURE_NAMES].to_numpy(float)[:5]
    L = LogPower().fit_transform(X)
    np.testing.assert_allclose(L[:, FEATURE_SLICES['mel']], 10*np.log10(np.maximum(X[:, FEATURE_SLICES['mel']], 1e-10)))  # floor -100 dB
    assert (L[:, FEATURE_SLICES['mel']] > -100).any() and (L[:, FEATURE_SLICES['mel']] == -100).any()  # 16 kHz clips: nothing above 8 kHz
    np.testing.assert_array_equal(L[:, FEATURE_SLICES['mfcc']], X[:, FEATURE_SLICES['mfcc']])
    assert np.isfinite(LogPower().fit_transform(np.zeros((1, X.shape[1])))).all()  # silence: the floor, not -inf
    d = trust.detector.distances(X)
    assert d.shape == (5, 2) and np.array_equal(trust.novelty(model, X), d.max(1))


def test_flag_catches_generated_foreign_input(audio, faces):
    assert not any(r['in_distribution'] for r in audio[2].assess(audio[1], np.array(list(audio_probes(audio[0]).values()))))
    assert not any(r['in_distribution'] for r in faces[2].assess(faces[1], np.array(list(landmark_probes(faces[0]).values()))))


def test_flag_catches_real_face(faces):
    pytest.importorskip('dlib', reason='dlib finds the landmarks of a photo')
    from skimage import data
    from emotion_nbdev.face_data import face_landmarks
    pts = face_landmarks(data.astronaut())[0]['landmarks'].ravel()
    assert faces[2].assess(faces[1], pts)[0]['in_distribution'] is False


def test_save_load_round_trip(audio, tmp_path):
    frame, model, trust = audio
    from emotion_nbdev.features import FEATURE_NAMES
    X = np.vstack([frame[FEATURE_NAMES].to_numpy(float)[:10], np.array(list(audio_probes(frame).values()))])
    f = save_trust(trust, trust_path(tmp_path/'audio.skops'), {'model_file': 'audio.skops'})
    assert f.name == 'audio.trust.skops'
    loaded, meta = load_trust(f)
    assert loaded.assess(model, X) == trust.assess(model, X)
    assert loaded.report == trust.report and meta['model_file'] == 'audio.skops'
    other = save_skops(trust.detector, tmp_path/'other.skops', 'emotion_nbdev.other/1', {})
    with pytest.raises(UntrustedModelError, match='not a emotion_nbdev.trust/1'): load_trust(other)
    with pytest.raises(UntrustedModelError, match='refused to load'):  # a model file holds our own classifier type
        load_trust(save_skops(model, tmp_path/'model.skops', 'emotion_nbdev.trust/1', {}))


def test_two_fits_give_identical_reports(audio, faces):
    assert landmark_trust(faces[0], faces[1]).report == faces[2].report
    assert audio_trust(audio[0], audio[1]).report == audio[2].report


def test_bad_input_is_named(faces):
    table, model, trust = faces
    from emotion_nbdev.face_models import landmark_xy
    X, y, g = landmark_xy(table)
    with pytest.raises(ValueError, match='fitted for classes'):
        trust.assess(type('M', (), {'classes_': np.array(['x', 'y'])})(), X[:1])
    with pytest.raises(ValueError, match='at least 2'): grouped_splits(np.zeros(5))
    with pytest.raises(ValueError, match='unknown novelty method'): landmark_trust(table, model, novelty='svm')
    assert set(NOVELTY_METHODS) == {r['method'] for r in trust.report['novelty_table']}


@pytest.mark.parametrize('method', NOVELTY_METHODS)
def test_every_detector_saves_and_loads(faces, method, tmp_path):
    table, model, trust = faces
    from emotion_nbdev.face_models import landmark_xy
    X = landmark_xy(table)[0]
    t = Trust(trust.labels, trust.calibration, method, novelty_detector(method).fit(feature_step(model).transform(X)), 1.0)
    loaded, _ = load_trust(save_trust(t, tmp_path/'faces.trust.skops'))
    np.testing.assert_array_equal(loaded.novelty(model, X[:50]), t.novelty(model, X[:50]))


def test_unreadable_prompt_is_skipped_and_counted(tmp_path):
    (tmp_path/'broken.wav').write_bytes(b'RIFF0000WAVEnot audio')
    skipped = SkipReport()
    assert alsa_voice_features(tmp_path, skipped) == {}
    assert len(skipped) == 1 and 'broken.wav' in skipped.items[0][0]
    assert alsa_voice_features(tmp_path/'missing') == {}


@pytest.fixture(scope='module')
def cnn():
    "The improved face CNN on the 700 synthetic faces at 32x32, a few epochs (the chapter's network), with its CnnTrust."
    from emotion_nbdev.cnn import synthetic_face_images, train_cnn
    from emotion_nbdev.trust import cnn_trust
    faces = synthetic_face_images(size=32, progress=False)
    run = train_cnn(faces, 'improved', epochs=12, progress=False)
    return faces, run, cnn_trust(run.model, faces, run.split)


def test_cnn_temperature_follows_the_rule(cnn):
    faces, run, trust = cnn
    r = trust.report
    # the rule: a temperature is kept only if, fitted without each validation subject, it lowers that subject's log-loss
    assert r['calibration_method'] == ('temperature' if r['validation_log_loss_crossfitted'] < r['validation_log_loss_before'] else 'none')
    if r['calibration_method'] == 'temperature': assert r['log_loss'] < r['log_loss_before']  # measured on the test subjects
    else: assert trust.temperature == 1.0 and r['log_loss'] == pytest.approx(r['log_loss_before'], abs=1e-9)
    assert 0 <= r['ece'] <= 1 and 0 <= r['ece_before'] <= 1


def test_cnn_temperature_rule_can_choose_a_temperature(cnn):
    "Overconfident validation probabilities (sharpened by T = 0.3): the leave-one-subject-out temperature beats none."
    from sklearn.metrics import log_loss
    from emotion_nbdev.trust import _crossfit_temperature, cnn_forward, embedding_model
    faces, run, trust = cnn
    v = run.split.validation
    P = temperature_scale(cnn_forward(embedding_model(run.model), faces.x[v])[1], 0.3)
    labels = list(trust.labels)
    assert _crossfit_temperature(P, faces.labels[v], faces.subjects[v], labels) < log_loss(faces.labels[v], P, labels=labels)


def test_cnn_threshold_passes_validation_and_reports_test(cnn):
    from emotion_nbdev.trust import cnn_forward, embedding_model, novelty_score
    faces, run, trust = cnn
    net = embedding_model(run.model)
    val = novelty_score(trust.detector, cnn_forward(net, faces.x[run.split.validation])[0])
    test = novelty_score(trust.detector, cnn_forward(net, faces.x[run.split.test])[0])
    assert np.mean(val <= trust.threshold) >= 0.95  # conformal threshold on the validation subjects
    assert trust.report['validation_pass_rate'] == pytest.approx(np.mean(val <= trust.threshold))
    assert trust.report['heldout_pass_rate'] == pytest.approx(np.mean(test <= trust.threshold))
    assert trust.report['novelty_method'] == 'mahalanobis' and trust.report['rows']['test'] == len(run.split.test)


def test_cnn_flag_catches_astronaut_and_noise(cnn):
    from emotion_nbdev.trust import cnn_probes
    faces, run, trust = cnn
    probes = cnn_probes(32)
    out = dict(zip(probes, trust.assess(run.model, np.stack(list(probes.values())))))
    assert [n for n, a in out.items() if n.startswith(('astronaut', 'uniform noise'))] == ['astronaut photo (real face)'] + [f'uniform noise {k}' for k in (1, 2, 3)]
    assert not any(a['in_distribution'] for n, a in out.items() if n.startswith(('astronaut', 'uniform noise')))
    assert {n: a['novelty'] for n, a in out.items()} == pytest.approx(trust.report['foreign_scores'])


def test_cnn_assess_is_one_pass_of_both_answers(cnn):
    "The two-output model's probabilities equal the network's own (then the temperature); novelty equals the detector's score."
    from emotion_nbdev.trust import cnn_forward, embedding_model, novelty_score
    faces, run, trust = cnn
    X = faces.x[run.split.test[:10]]
    out = trust.assess(run.model, X, batch_size=4)  # batches of 4: 3 forward passes
    P = run.model.predict(X, verbose=0).astype(float)
    expect = temperature_scale(P/P.sum(1, keepdims=True), trust.temperature)
    np.testing.assert_allclose([[a['probabilities'][l] for l in trust.labels] for a in out], expect, atol=1e-6)
    np.testing.assert_allclose([a['novelty'] for a in out], novelty_score(trust.detector, cnn_forward(embedding_model(run.model), X)[0]), rtol=1e-6)
    assert [a['emotion'] for a in out] == [trust.labels[i] for i in expect.argmax(1)]
    assert trust.assess(run.model, X[:0]) == []


def test_cnn_trust_save_load_round_trip(cnn, tmp_path):
    from emotion_nbdev.cnn import save_cnn, load_cnn
    from emotion_nbdev.trust import load_cnn_trust, save_cnn_trust
    faces, run, trust = cnn
    net_file = save_cnn(run, tmp_path/'face_cnn.keras')
    f = save_cnn_trust(trust, trust_path(net_file), {'model_file': net_file.name})
    assert f == tmp_path/'face_cnn.trust.skops'
    loaded, meta = load_cnn_trust(f)
    X = faces.x[run.split.test[:16]]
    assert loaded.assess(load_cnn(net_file), X) == trust.assess(run.model, X)
    assert meta['model_file'] == 'face_cnn.keras' and meta['report']['threshold'] == trust.threshold
    assert (loaded.labels, loaded.temperature, loaded.threshold) == (trust.labels, trust.temperature, trust.threshold)


def test_cnn_trust_bad_input_is_named(cnn, tmp_path, faces):
    from emotion_nbdev.trust import load_cnn_trust
    _, run, trust = cnn
    with pytest.raises(ValueError, match=r'network input must be \(n, 32, 32, 3\); got \(2, 48, 48, 3\)'):
        trust.assess(run.model, np.zeros((2, 48, 48, 3), np.float32))
    f = save_trust(faces[2], tmp_path/'landmarks.trust.skops')  # a landmark Trust is not a CnnTrust
    with pytest.raises(UntrustedModelError, match='not a emotion_nbdev.cnn_trust/1 model'):
        load_cnn_trust(f)


def test_cnn_trust_is_deterministic(cnn):
    from emotion_nbdev.trust import cnn_trust
    faces, run, trust = cnn
    assert cnn_trust(run.model, faces, run.split).report == trust.report
