"Voice explanations: exact group contributions of the logits, the reference, refusals, occlusion over time, JSON, figure, bad input."
import json
import numpy as np
import pytest
import soundfile as sf
from scipy.special import softmax
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from emotion_nbdev.audio_data import load_synthetic_speech, UnreadableAudioError
from emotion_nbdev.features import extract_features, clip_features, load_audio, FEATURE_NAMES, FEATURE_SLICES, FEATURE_SR
from emotion_nbdev.audio_model import train_audio_model, audio_pipeline
from emotion_nbdev.trust import Trust, novelty_detector, feature_step
from emotion_nbdev.audio_explain import (linear_form, feature_contributions, group_contributions, frame_features, occlusion_windows,
    occluded_vectors, occlusion_reference, explain_audio, plot_explanation, UnexplainableModelError, FEATURE_GROUPS)

@pytest.fixture(scope='module')
def frame():
    return extract_features(load_synthetic_speech().manifest, progress=False).frame  # the session's cache, shared with other modules

@pytest.fixture(scope='module')
def data(frame):
    return frame[FEATURE_NAMES].to_numpy(float), frame['emotion'].to_numpy()

@pytest.fixture(scope='module')
def model(frame):
    return train_audio_model(frame, grid='small', folds=3)[0]

@pytest.fixture(scope='module')
def trust(model, data):
    "A temperature trust built by hand (T = 2), so the calibrated probabilities are known in closed form."
    X, _ = data
    det = novelty_detector('mahalanobis').fit(feature_step(model).transform(X))
    return Trust([str(c) for c in model.classes_], dict(method='temperature', temperature=2.0), 'mahalanobis', det, threshold=1e9)

def anger_clip(frame):
    return load_audio(frame.loc[frame['emotion'] == 'anger', 'path'].iloc[0])

def _sums_match(model, X):
    form = linear_form(model)
    G = group_contributions(feature_contributions(form, X))
    D = model.decision_function(X)
    D = np.column_stack([np.zeros_like(D), D]) if D.ndim == 1 else D  # one score for two classes: logits (0, score)
    np.testing.assert_allclose(form.intercept + G.sum(-1), D, rtol=1e-9, atol=1e-12)
    return form, G

@pytest.mark.parametrize('variant', ['served', 'lbfgs', 'whiten', 'binary'])
def test_group_contributions_sum_to_every_logit(model, data, variant):
    X, y = data
    if variant == 'served': m = model
    elif variant == 'lbfgs': m = audio_pipeline(solver='lbfgs').fit(X, y)
    elif variant == 'whiten': m = audio_pipeline().set_params(pca__whiten=True).fit(X, y)
    else:
        two = np.isin(y, ['anger', 'sadness']); m = audio_pipeline(solver='lbfgs').fit(X[two], y[two])
    form, G = _sums_match(m, X)  # every clip of the corpus, every class
    assert G.shape == (len(X), len(m.classes_), len(FEATURE_GROUPS))
    np.testing.assert_allclose(m.predict_proba(X), softmax(form.intercept + G.sum(-1), axis=1), rtol=0, atol=1e-9)

def test_reference_is_the_training_mean_where_everything_is_zero(model, data):
    X, _ = data
    form = linear_form(model)
    np.testing.assert_allclose(form.reference, X.mean(0), rtol=1e-9, atol=1e-12)
    assert np.abs(feature_contributions(form, form.reference)).max() == 0.0
    np.testing.assert_allclose(model.decision_function(form.reference[None])[0], form.intercept, rtol=0, atol=1e-9)
    assert form.labels == list(model.classes_) and form.weights.shape == (len(form.labels), 175)

def test_missing_values_are_imputed_as_the_model_does(model, data):
    X, _ = data
    x = X[:3].copy(); x[0, FEATURE_SLICES['mfcc']] = np.nan; x[2, 0] = np.nan
    form = linear_form(model)
    np.testing.assert_allclose(form.intercept + feature_contributions(form, x).sum(-1), model.decision_function(x), rtol=1e-9, atol=1e-12)

def test_energy_groups_merge_and_keep_the_sum(model, data):
    X, _ = data
    C = feature_contributions(linear_form(model), X[:10])
    energy = {'energy': ('zcr', 'rms'), 'rest': ('chroma', 'mfcc', 'mel', 'contrast', 'tonnetz')}
    E, G = group_contributions(C, energy), group_contributions(C)
    np.testing.assert_allclose(E.sum(-1), C.sum(-1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(E[..., 0], G[..., 0] + G[..., 3], rtol=1e-12, atol=1e-12)

def _bad_models(model, X, y):
    Z = model[:3].transform(X)
    small = audio_pipeline(solver='lbfgs').fit(X[:, :20], y)
    ind = Pipeline([('impute', SimpleImputer(add_indicator=True)), *model.steps[1:]])
    ind.steps[0][1].fit(X)
    return {
        'the classifier alone': (model[-1], 'ProxLogisticRegression: not a 4-step'),
        'no PCA': (Pipeline([('impute', SimpleImputer()), ('scale', StandardScaler()), ('clf', model[-1])]), 'not a 4-step'),
        'steps swapped': (Pipeline([('scale', model[1]), ('impute', model[0]), *model.steps[2:]]), 'a StandardScaler where a SimpleImputer belongs'),
        'a forest': (Pipeline([*model.steps[:3], ('clf', RandomForestClassifier(n_estimators=3, random_state=0).fit(Z, y))]), 'RandomForestClassifier is not a linear'),
        'one-vs-rest probabilities': (Pipeline([*model.steps[:3], ('clf', SGDClassifier(loss='log_loss', random_state=0).fit(Z, y))]), 'not the softmax of its logits'),
        'unfitted': (audio_pipeline(), 'it is not fitted'),
        '20 features': (small, 'it takes 20 features, not 175'),
        'missing-value indicators': (ind, 'adds or drops columns'),
    }

def test_refuses_every_other_shape(model, data):
    X, y = data
    for name, (bad, why) in _bad_models(model, X, y).items():
        with pytest.raises(UnexplainableModelError, match='cannot explain') as e: linear_form(bad)
        assert why in str(e.value) and 'SimpleImputer -> StandardScaler -> PCA -> linear classifier' in str(e.value), (name, str(e.value))

@pytest.mark.parametrize('tonnetz', ['report', 'fast'])
def test_frame_features_average_to_clip_features(frame, tonnetz):
    for p in frame['path'].iloc[::70]:
        y = load_audio(p)
        ff = frame_features(y, tonnetz=tonnetz)
        np.testing.assert_array_equal(ff.vector(), clip_features(y, tonnetz=tonnetz))
        assert {k: v.shape[1] for k, v in ff.frames.items()} == {k: y.size // 512 + 1 for k in FEATURE_SLICES}

def test_silent_frame_is_what_silence_gives(frame):
    "Frames well inside a second of digital silence equal the silent frame (the tonnetz aside: its long low filters leak)."
    y = np.concatenate([anger_clip(frame), np.zeros(FEATURE_SR, np.float32)])
    ff = frame_features(y)
    for k in ('zcr', 'chroma', 'mfcc', 'rms', 'mel', 'contrast'):
        np.testing.assert_allclose(ff.frames[k][:, -15:-5], np.repeat(ff.silence[k][:, None], 10, 1), rtol=1e-6, atol=1e-9)

def test_silence_after_speech_matters_about_zero(model, frame):
    speech = anger_clip(frame)
    y = np.concatenate([speech, np.zeros(3 * FEATURE_SR // 2, np.float32)])
    e = explain_audio(model, y)
    start, end = np.array(e['occlusion']['start_s']), np.array(e['occlusion']['end_s'])
    drop = np.abs(e['occlusion']['delta_probability'])
    silent, spoken = start >= speech.size / FEATURE_SR + 0.2, end <= speech.size / FEATURE_SR
    assert silent.sum() >= 8 and drop[silent].max() < 0.01 and drop[spoken].max() > 0.1
    assert np.abs(np.array(e['occlusion']['delta_logit'])[silent]).max() < 0.1 * np.abs(e['occlusion']['delta_logit']).max()
    removed = explain_audio(model, y, mode='remove')
    assert np.abs(removed['occlusion']['delta_probability'])[silent].min() > drop[silent].max()  # removal scores every pause

def test_fast_occlusion_follows_the_yardstick(model, frame):
    y = anger_clip(frame)
    w = occlusion_windows(y.size / FEATURE_SR)
    k = int(np.argmax(model.predict_proba(clip_features(y)[None])[0]))
    for mode in ('silence', 'remove'):
        fast = model.predict_proba(occluded_vectors(frame_features(y), w, mode))[:, k]
        slow = occlusion_reference(model, y, w, mode)[:, k]
        assert np.corrcoef(fast, slow)[0, 1] > 0.9 and np.abs(fast - slow).max() < 0.1, mode
    hard = occlusion_reference(model, y, w, 'silence', fade_s=0)[:, k]
    assert np.abs(hard - fast).max() > np.abs(slow - fast).max()  # a hard cut clicks

def test_windows_cover_the_clip():
    for d in (0.05, 0.25, 0.3, 1.0, 2.37, 10.0):
        w = occlusion_windows(d)
        assert w[0, 0] == 0 and w[-1, 1] == pytest.approx(d) and (np.diff(w[:, 0]) == 0.125).all() and (w[:, 1] <= d + 1e-12).all()
    with pytest.raises(ValueError, match='hop_s <= window_s'): occlusion_windows(1.0, 0.1, 0.2)

def test_explanation_is_json_ready_and_consistent(model, trust, frame):
    path = frame['path'].iloc[5]
    e = explain_audio(model, path, trust=trust)
    assert json.loads(json.dumps(e)) == e
    x = clip_features(load_audio(path)); logit = model.decision_function(x[None])[0]
    labels = list(model.classes_)
    np.testing.assert_allclose([e['logits'][c] for c in labels], logit, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose([e['probabilities'][c] for c in labels], softmax(logit / 2.0), rtol=0, atol=1e-12)  # softmax(logit / T)
    for c in labels: assert e['intercept'][c] + sum(e['contributions_by_class'][c].values()) == pytest.approx(e['logits'][c], rel=1e-9, abs=1e-12)
    assert e['emotion'] == labels[int(np.argmax(logit))] and e['contributions'] == e['contributions_by_class'][e['emotion']]
    assert (e['calibration'], e['temperature'], e['in_distribution']) == ('temperature', 2.0, True)
    assert len(e['top_features']) == 5 and abs(e['top_features'][0]['contribution']) >= abs(e['top_features'][-1]['contribution'])
    occ = e['occlusion']
    assert len(occ['start_s']) == len(occ['end_s']) == len(occ['delta_probability']) == len(occ['delta_logit']) == len(occlusion_windows(e['duration_s']))
    assert len(e['envelope']['times_s']) == len(e['envelope']['rms']) == load_audio(path).size // 512 + 1
    plain = explain_audio(model, path)
    assert plain['calibration'] == 'none' and plain['temperature'] is None and 'novelty' not in plain

def test_arrays_of_any_rate_and_channels(model, frame, tmp_path):
    path = frame['path'].iloc[0]
    native, sr = sf.read(path, dtype='float32')
    from_file = explain_audio(model, path)
    stereo = explain_audio(model, np.column_stack([native, native]), sr=sr)
    assert stereo['emotion'] == from_file['emotion']
    np.testing.assert_allclose(list(stereo['logits'].values()), list(from_file['logits'].values()), rtol=1e-5, atol=1e-5)

def test_bad_input_is_named(model, trust, frame, tmp_path):
    with pytest.raises(UnreadableAudioError, match='clip.wav: too short'): explain_audio(model, np.zeros(50, np.float32), source='clip.wav')
    with pytest.raises(UnreadableAudioError, match='missing.wav: file does not exist'): explain_audio(model, tmp_path/'missing.wav')
    (tmp_path/'broken.wav').write_bytes(b'RIFF\x00\x00garbage')
    with pytest.raises(UnreadableAudioError, match='broken.wav: corrupt'): explain_audio(model, tmp_path/'broken.wav')
    with pytest.raises(UnreadableAudioError, match='NaN'): explain_audio(model, np.full(FEATURE_SR, np.nan, np.float32))
    with pytest.raises(ValueError, match='unknown occlusion mode'): explain_audio(model, frame['path'].iloc[0], mode='blur')
    with pytest.raises(ValueError, match='nothing to average'): explain_audio(model, frame['path'].iloc[0], mode='remove', window_s=5.0, hop_s=1.0)
    other = Trust(['a', 'b'], trust.calibration, trust.novelty_method, trust.detector, trust.threshold)
    with pytest.raises(ValueError, match="trust was fitted for classes \\['a', 'b'\\]"): explain_audio(model, frame['path'].iloc[0], trust=other)

def test_figure_from_the_dictionary_alone(model, frame):
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    y = anger_clip(frame)
    e = json.loads(json.dumps(explain_audio(model, y)))
    for fig, ylabel in ((plot_explanation(e, y), 'amplitude'), (plot_explanation(e), 'RMS')):
        wav, cur, bars = fig.axes
        assert wav.get_ylabel() == ylabel and cur.get_xlabel() == 'time (s), centre of the window' and 'logit units' in bars.get_xlabel()
        assert len(cur.patches) == len(e['occlusion']['start_s']) and [t.get_text() for t in bars.get_yticklabels()] == list(FEATURE_GROUPS)[::-1]
        assert fig._suptitle.get_text().startswith(f"Why '{e['emotion']}' (p = ")
        plt.close(fig)

def test_per_class_calibration_is_reported_beside_exact_logits(model, trust, frame):
    "With sigmoid calibrators the probabilities are the trust's, not a softmax; the bars still add up to the logits."
    from emotion_nbdev.trust import apply_calibration
    K = len(model.classes_)
    cal = dict(method='sigmoid', a=-np.linspace(0.5, 1.5, K), b=np.linspace(-1, 1, K))
    sig = Trust(trust.labels, cal, trust.novelty_method, trust.detector, trust.threshold)
    path = frame['path'].iloc[40]
    e = explain_audio(model, path, trust=sig)
    x = clip_features(load_audio(path))[None]
    p = apply_calibration(cal, model[-1], model[:-1].transform(x))[0]
    np.testing.assert_allclose(list(e['probabilities'].values()), p, rtol=0, atol=1e-12)
    assert (e['calibration'], e['temperature'], e['emotion']) == ('sigmoid', None, trust.labels[int(np.argmax(p))])
    for c in trust.labels: assert e['intercept'][c] + sum(e['contributions_by_class'][c].values()) == pytest.approx(e['logits'][c], rel=1e-9, abs=1e-12)
