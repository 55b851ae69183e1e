"Audio model: search == GridSearchCV, honest folds, metrics, persistence, determinism, CLI."
import json, subprocess, sys
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, balanced_accuracy_score, roc_auc_score
from emotion_nbdev.core import EMOTIONS, save_skops, UntrustedModelError
from emotion_nbdev.audio_data import load_synthetic_speech
from emotion_nbdev.features import extract_features, FEATURE_NAMES
from emotion_nbdev.audio_model import (make_folds, speaker_groups, search_audio_model, plain_grid_search, expand_grid,
    classification_metrics, train_audio_model, save_audio_model, load_audio_model, predict_emotion, AUDIO_MODEL_FORMAT,
    audio_pipeline, evaluate_audio_model)

EXE = str(Path(sys.executable).parent/'emotion-nbdev')
KEYS = ('penalty', 'C', 'fit_intercept', 'l1_ratio')

@pytest.fixture(scope='module')
def frame(tmp_path_factory):
    return extract_features(load_synthetic_speech().manifest, augment=('noise',), cache=tmp_path_factory.mktemp('c'), progress=False).frame

@pytest.fixture(scope='module')
def trained(frame):
    return train_audio_model(frame, grid='small', folds=3, jobs=2)

def test_same_best_params_as_gridsearchcv(frame):
    folds = make_folds(frame, n_splits=3)
    X, y = frame[FEATURE_NAMES].to_numpy(float), frame['emotion'].to_numpy()
    grid = dict(penalty=['l1', 'l2', 'elasticnet'], C=[0.1, 1.0], fit_intercept=[True], solver=['lbfgs', 'saga'], l1_ratio=[0.5])
    fast = search_audio_model(X, y, folds, grid, refit=False, jobs=2)
    plain = plain_grid_search(X, y, folds, grid, jobs=2)
    own = search_audio_model(X, y, folds, grid, refit=False, jobs=2, engine='sklearn', share_solvers=False)
    assert {k: fast.best_params[k] for k in KEYS} == {k: plain.best_params[k] for k in KEYS}
    assert abs(fast.best_score - plain.best_score) < 0.002
    # with the candidates' own solvers, each fit from zero, the search reproduces GridSearchCV score for score
    np.testing.assert_allclose(own.results['mean_test_score'], plain.results['mean_test_score'], rtol=0, atol=1e-6)
    assert own.best_params == plain.best_params
    # lbfgs converges on the L2 candidates: there the prox engine agrees closely (saga's capped L1 fits differ more)
    l2 = (fast.results['solver'] == 'lbfgs').to_numpy()
    assert np.abs(fast.results['mean_test_score'] - plain.results['mean_test_score']).to_numpy()[l2].max() < 0.002

def test_grid_pruning():
    cands, pruned = expand_grid('report')
    assert len(cands) == 56 and not any(c['solver'] in ('lbfgs', 'newton-cg') and c['penalty'] != 'l2' for c in cands)
    assert set(zip(pruned.penalty, pruned.solver)) == {('l1', 'lbfgs'), ('l1', 'newton-cg'), ('elasticnet', 'lbfgs'), ('elasticnet', 'newton-cg')}

@pytest.mark.parametrize('kind', ['speaker', 'random'])
def test_folds_are_honest(frame, kind):
    g, src, aug = speaker_groups(frame), frame['source'].to_numpy(), frame['augment'].to_numpy()
    folds = make_folds(frame, kind, 5)
    val_rows = np.concatenate([va for _, va in folds])
    assert sorted(val_rows) == list(np.flatnonzero(aug == 'none'))          # each original validated exactly once
    for tr, va in folds:
        assert (aug[va] == 'none').all()                                    # no augmented row in validation
        assert not set(src[tr]) & set(src[va])                              # copies follow their source
        if kind == 'speaker': assert not set(g[tr]) & set(g[va])            # no speaker on both sides
        assert set(src[tr][aug[tr] != 'none']) <= set(src[tr][aug[tr] == 'none'])

def test_too_few_speakers(frame):
    with pytest.raises(ValueError, match='10 speakers cannot make 12'): make_folds(frame, 'speaker', 12)

def test_metrics_match_sklearn():
    labels = ['a', 'b', 'c']
    y = np.array(['a', 'a', 'b', 'b', 'c', 'c', 'a', 'c'])
    P = np.array([[.7, .2, .1], [.3, .4, .3], [.1, .8, .1], [.5, .3, .2], [.2, .2, .6], [.1, .5, .4], [.6, .3, .1], [.2, .1, .7]])
    m = classification_metrics(y, P, labels)
    pred = np.array(labels)[P.argmax(1)]
    assert m['accuracy'] == accuracy_score(y, pred) == 5/8
    assert m['macro_f1'] == pytest.approx(f1_score(y, pred, average='macro'))
    assert m['uar'] == pytest.approx(balanced_accuracy_score(y, pred)) and m['uar'] == pytest.approx(np.mean([2/3, 1/2, 2/3]))
    assert m['auc_ovr_macro'] == pytest.approx(roc_auc_score(y, P, multi_class='ovr', labels=labels))
    Y = (y[:, None] == np.array(labels)[None]).astype(int)
    assert m['auc_ovr_micro'] == pytest.approx(roc_auc_score(Y.ravel(), P.ravel()))

def test_report_contents(trained, frame):
    _, r = trained
    for k in ('accuracy', 'macro_f1', 'uar', 'auc_ovr_macro', 'auc_ovr_micro', 'confusion', 'labels', 'split', 'folds', 'best_params', 'search_seconds'):
        assert k in r, k
    assert r['labels'] == list(EMOTIONS) and r['split'] == 'speaker' and r['folds'] == 3
    assert np.asarray(r['confusion']).sum() == (frame.augment == 'none').sum()
    assert r['data']['synthetic'] and r['data']['kind'] == 'synthetic' and len(r['per_fold']) == 3
    assert r['accuracy'] > 1/7 + 0.15

def test_saved_model_is_the_scored_one(frame, trained, tmp_path):
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score
    model, report = trained
    back, _ = load_audio_model(save_audio_model(model, tmp_path/'m.skops', report))
    X, y = frame[FEATURE_NAMES].to_numpy(float), frame['emotion'].to_numpy()
    cv = cross_val_score(clone(back), X, y, cv=make_folds(frame, 'speaker', 3), scoring='roc_auc_ovr').mean()
    assert abs(cv - report['search_score']['value']) < 1e-4                    # the saved model scores what the search scored
    assert abs(report['auc_ovr_macro'] - report['search_score']['value']) < 1e-9  # and so does the evaluation
    assert type(back[-1]).__name__ == 'ProxLogisticRegression' and report['best_params']['solver'] == 'prox'
    assert back[-1].get_params() == audio_pipeline(**report['best_params'])[-1].get_params()

def test_prox_estimator_passes_sklearn_checks():
    import warnings
    from sklearn.exceptions import ConvergenceWarning, SkipTestWarning
    from sklearn.utils.estimator_checks import check_estimator
    from emotion_nbdev.prox import ProxLogisticRegression
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', ConvergenceWarning)  # some checks fit tiny random data with few passes on purpose
        warnings.simplefilter('ignore', SkipTestWarning)     # the array-API check needs SCIPY_ARRAY_API
        checks = check_estimator(ProxLogisticRegression(), on_fail=None)
    assert [c['check_name'] for c in checks if c['status'] == 'failed'] == []
    assert sum(c['status'] == 'passed' for c in checks) > 40

def test_deterministic(frame, trained):
    _, r2 = train_audio_model(frame, grid='small', folds=3, jobs=1)
    _, r1 = trained
    for k in ('accuracy', 'macro_f1', 'uar', 'auc_ovr_macro', 'auc_ovr_micro', 'confusion', 'best_params'): assert r1[k] == r2[k], k

def test_save_load_and_refusals(trained, tmp_path):
    model, report = trained
    f = save_audio_model(model, tmp_path/'a.skops', report)
    back, meta = load_audio_model(f)
    X = extract_features(load_synthetic_speech().manifest.head(5), cache=None, progress=False).frame[FEATURE_NAMES].to_numpy(float)
    assert np.array_equal(model.predict_proba(X), back.predict_proba(X))
    assert meta['labels'] == list(EMOTIONS) and meta['synthetic'] is True and 'versions' in meta
    (tmp_path/'cut.skops').write_bytes(f.read_bytes()[:len(f.read_bytes())//2])
    with pytest.raises(UntrustedModelError, match='cut.skops'): load_audio_model(tmp_path/'cut.skops')
    (tmp_path/'text.skops').write_text('hello')
    with pytest.raises(UntrustedModelError, match='not a skops model file'): load_audio_model(tmp_path/'text.skops')
    save_skops(model, tmp_path/'other.skops', 'someone.else/1', {})
    with pytest.raises(UntrustedModelError, match='not a emotion_nbdev.audio-model/1 model'): load_audio_model(tmp_path/'other.skops')
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.pipeline import make_pipeline
    import os
    evil = make_pipeline(FunctionTransformer(os.getcwd), audio_pipeline())
    save_skops(evil, tmp_path/'evil.skops', AUDIO_MODEL_FORMAT, {'feature_version': meta['feature_version']})
    with pytest.raises(UntrustedModelError, match='untrusted type'): load_audio_model(tmp_path/'evil.skops')
    with pytest.raises(FileNotFoundError): load_audio_model(tmp_path/'missing.skops')

def test_predict_emotion_file_and_array(trained):
    model, _ = trained
    clip = load_synthetic_speech().manifest.iloc[3]
    a = predict_emotion(clip.path, model)
    import soundfile as sf
    y, sr = sf.read(clip.path, dtype='float32')
    b = predict_emotion(y, model, sr=sr)
    assert a['emotion'] == b['emotion'] and sorted(a['probabilities']) == list(EMOTIONS)
    assert a['probabilities'] == pytest.approx(b['probabilities'])
    with pytest.raises(ValueError, match='sample rate'): predict_emotion(y, model)

def test_cli_end_to_end(tmp_path):
    run = lambda *a: subprocess.run([EXE, *map(str, a)], capture_output=True, text=True, timeout=900)
    corpus = run('sample-data').stdout.strip()
    assert run('index', corpus, '-q', '-o', tmp_path/'m.csv').returncode == 0
    assert run('features', tmp_path/'m.csv', '-o', tmp_path/'f.parquet', '--augment', 'noise', '--jobs', '2', '--cache', tmp_path/'c', '-q').returncode == 0
    r = run('train-audio', tmp_path/'f.parquet', '-o', tmp_path/'a.skops', '--grid', 'small', '--folds', '3', '--jobs', '2', '--report', tmp_path/'r.json')
    assert r.returncode == 0, r.stderr
    assert 'speaker split, 3 folds, synthetic data' in r.stdout
    rep = json.loads((tmp_path/'r.json').read_text())
    assert rep['split'] == 'speaker' and rep['folds'] == 3 and rep['data']['clips'] == 210 and rep['data']['rows'] == 420
    (tmp_path/'bad.wav').write_bytes(b'RIFF....WAVEjunk')
    files = sorted(Path(corpus).glob('ALL/V1_*.flac'))[:2]
    r = run('predict-audio', tmp_path/'a.skops', *files, tmp_path/'bad.wav', '--json')
    assert r.returncode == 1
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert [Path(l['path']).name for l in lines] == [f.name for f in files] + ['bad.wav']
    assert all(l['emotion'] in EMOTIONS and abs(sum(l['probabilities'].values()) - 1) < 1e-6 for l in lines[:2])
    assert 'corrupt or unsupported audio' in lines[2]['error']
    r = run('train-audio', tmp_path/'missing.parquet', '-o', tmp_path/'x.skops')
    assert r.returncode == 2 and 'does not exist' in r.stderr
    r = run('predict-audio', tmp_path/'r.json', files[0])
    assert r.returncode == 2 and 'not a skops model file' in r.stderr

@pytest.mark.parametrize('engine', ['prox', 'sklearn'])
def test_engines_match_gridsearchcv_when_solvers_converge(engine):
    # a well-conditioned table (saga converges, unlike on the nearly separable embedded corpus): every candidate agrees
    from sklearn.datasets import make_classification
    X, y = make_classification(1500, 30, n_informative=12, n_classes=5, class_sep=0.7, flip_y=0.1,
                               weights=[0.4, 0.25, 0.15, 0.12, 0.08], random_state=0)  # unequal classes: no near-tie on the intercept
    X *= np.random.default_rng(0).lognormal(0, 2, 30)
    frame = pd.DataFrame({'emotion': y.astype(str), 'dataset': 'd', 'speaker': (np.arange(1500) % 30).astype(str),
                          'augment': 'none', 'source': [f'c{i}' for i in range(1500)]})
    folds = make_folds(frame, n_splits=3)
    grid = dict(penalty=['l1', 'l2', 'elasticnet'], C=[0.01, 0.1, 1.0], fit_intercept=[True, False], solver=['lbfgs', 'saga'], l1_ratio=[0.5])
    fast = search_audio_model(X, y.astype(str), folds, grid, jobs=2, engine=engine)
    plain = plain_grid_search(X, y.astype(str), folds, grid, jobs=2)
    assert {k: fast.best_params[k] for k in KEYS} == {k: plain.best_params[k] for k in KEYS}
    assert np.abs(fast.results['mean_test_score'] - plain.results['mean_test_score']).max() < 0.002
    if engine == 'prox': assert (fast.results['fitted_with'] == 'prox').all() and fast.results['converged'].min() == 1
    # the refit model is audio_pipeline(**best_params), with the solver that was scored
    clf = fast.best_estimator[-1]
    assert type(clf).__name__ == ('ProxLogisticRegression' if engine == 'prox' else 'LogisticRegression')
    assert clf.get_params() == audio_pipeline(**fast.best_params)[-1].get_params()
    assert fast.best_params['solver'] == fast.results['fitted_with'][fast.results['mean_test_score'].idxmax()]

def test_prox_solver_reaches_saga_objective():
    from sklearn.linear_model import LogisticRegression
    from emotion_nbdev.prox import prox_multinomial_logistic, multinomial_objective
    rng = np.random.default_rng(0)
    Z = np.linalg.qr(rng.normal(size=(600, 8)))[0] * 20 * np.linspace(1, 3, 8)  # orthogonal columns, like a PCA fold
    Z -= Z.mean(0)
    y = (Z @ rng.normal(size=(8, 4)) + rng.gumbel(size=(600, 4)) * 3).argmax(1)
    Y = np.eye(4)[y]
    for l1_ratio, C, fi in ((1.0, 0.05, True), (0.5, 1.0, False), (0.0, 10.0, True)):
        W, b, it, converged = prox_multinomial_logistic(Z, Y, C, l1_ratio, fi, tol=1e-8, max_iter=5000)
        ref = LogisticRegression(C=C, l1_ratio=l1_ratio, fit_intercept=fi, solver='saga', tol=1e-10, max_iter=20000).fit(Z, y)
        assert it < 5000 and converged
        assert multinomial_objective(Z, Y, W, b, C, l1_ratio) == pytest.approx(
            multinomial_objective(Z, Y, ref.coef_.T, ref.intercept_ if fi else None, C, l1_ratio), abs=1e-7)

def test_train_refuses_features_of_another_tonnetz_kind():
    "A model is fed the default features when it predicts, so it is never trained on the other kind."
    import pandas as pd
    from emotion_nbdev.audio_model import train_audio_model
    frame = pd.DataFrame({'emotion': ['anger']})
    frame.attrs['tonnetz'] = 'fast'
    with pytest.raises(ValueError, match="tonnetz='fast'"): train_audio_model(frame)
