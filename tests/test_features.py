"Features: layout, both tonnetz kinds == the report's calls, short clips, augmentation, cache resume, bad inputs, Dask, CLI."
import os, signal, subprocess, sys, time, warnings
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from hypothesis import given, settings, HealthCheck, strategies as st
from emotion_nbdev.audio_data import load_synthetic_speech
from emotion_nbdev.features import (FEATURE_NAMES, FEATURE_SLICES, FEATURE_SR, N_FEATURES, clip_features,
    reference_features, relative_difference, load_audio, augment_signal, augment_rng, TONNETZ_KINDS, FEATURE_VERSIONS,
    DEFAULT_TONNETZ, clip_feature_rows, extract_features, save_features, load_features, UnreadableAudioError)
from emotion_nbdev.features import (_centred_stft, _stft_magnitude, _zero_crossing_rate, _rms, _spectral_contrast, _tuning,
    _halve, _report_tonnetz)  # the fast path's helpers
from conftest import require_tool

REAL_SPEECH = sorted(Path('/usr/share/sounds/alsa').glob('*_*.wav'))  # human voice: "Front Center", ...
EXE = str(Path(sys.executable).parent/'emotion-nbdev')

@pytest.fixture(scope='module')
def corpus(): return load_synthetic_speech().manifest

def test_layout():
    assert len(FEATURE_NAMES) == N_FEATURES == 175
    spans = {k: (s.start, s.stop - 1) for k, s in FEATURE_SLICES.items()}
    assert spans == {'zcr': (0, 0), 'chroma': (1, 12), 'mfcc': (13, 32), 'rms': (33, 33), 'mel': (34, 161),
                     'contrast': (162, 168), 'tonnetz': (169, 174)}
    assert FEATURE_NAMES[:3] == ['zcr', 'chroma_01', 'chroma_02'] and FEATURE_NAMES[-1] == 'tonnetz_6'

TONNETZ = FEATURE_SLICES['tonnetz']

def _check_kinds(y, name):
    "tonnetz='report' is the report's vector; 'fast' is too except the tonnetz, which is the STFT-chroma one."
    report_code, stft_tonnetz_code = reference_features(y, tonnetz='report'), reference_features(y, tonnetz='fast')
    report, fast = clip_features(y, tonnetz='report'), clip_features(y, tonnetz='fast')
    assert relative_difference(report, report_code).max() < 1e-4, name
    assert relative_difference(fast, stft_tonnetz_code).max() < 1e-4, name
    assert relative_difference(fast, report_code)[:TONNETZ.start].max() < 1e-4, name
    return relative_difference(fast, report_code)[TONNETZ].max()

def test_both_kinds_match_the_reports_calls_on_synthetic_speech(corpus):
    tonnetz_gaps = [_check_kinds(load_audio(p), p) for p in corpus.groupby('emotion').head(2).path]
    assert min(tonnetz_gaps) > 1e-2  # the two tonnetz definitions are different numbers on every clip

def test_both_kinds_match_the_reports_calls_on_real_speech():
    require_tool('aplay')  # alsa-utils ships the recordings
    assert REAL_SPEECH, 'alsa-utils recordings missing'
    for p in REAL_SPEECH: _check_kinds(load_audio(p), p)

def test_unknown_tonnetz_kind_is_refused(corpus):
    y = load_audio(corpus.path.iloc[0])
    for f in (lambda: clip_features(y, tonnetz='cqt'), lambda: reference_features(y, tonnetz='cqt'),
              lambda: extract_features(corpus.head(1), tonnetz='cqt', cache=None, progress=False)):
        with pytest.raises(ValueError, match="unknown tonnetz 'cqt'; use one of report, fast"): f()

@pytest.mark.parametrize('sr', [8000, 16000, 44100])
def test_a_50_ms_clip_gives_the_reports_vector_without_warnings(tmp_path, sr):
    t = np.arange(int(0.05 * sr)) / sr
    f = _write(tmp_path/'short.wav', (0.3*np.sin(2*np.pi*220*t)).astype(np.float32), sr, 'FLOAT')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        y = load_audio(f)
        vectors = {k: clip_features(y, tonnetz=k) for k in TONNETZ_KINDS}
    assert [str(w.message) for w in caught] == []
    assert abs(len(y) - 0.05 * FEATURE_SR) <= 1  # 0.05 s after resampling
    for k, v in vectors.items():
        assert v.shape == (175,) and np.isfinite(v).all(), k
        assert relative_difference(v, reference_features(y, tonnetz=k)).max() < 1e-4, k

def test_empty_and_too_short_clips_name_the_file(bad_inputs):
    for name, reason in [('zero_length.wav', 'empty audio: 0 samples'), ('empty_file.wav', 'empty file: 0 bytes'),
                         ('shorter_than_hop.wav', 'too short')]:
        with pytest.raises(UnreadableAudioError, match=rf'{name.replace(".", r"[.]")}: {reason}'): load_audio(bad_inputs/name)

def _librosa_quietly(f):
    "librosa's own call, with the warnings it gives on short or silent signals (its numbers are kept) silenced."
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        return f()

@settings(max_examples=15, deadline=None)
@given(sr=st.sampled_from([8000, 16000, 22050, 44100, 96000]), seconds=st.floats(0.03, 1.0), f0=st.floats(60, 1000),
       noise=st.floats(0, 0.5), silent=st.floats(0, 0.5), seed=st.integers(0, 2**16))
def test_fast_path_helpers_repeat_librosas_bits(sr, seconds, f0, noise, silent, seed):
    "The STFT, zero-crossing rate, tuning, 2:1 resampling and CQT tonnetz behind clip_features are librosa's numbers, bit for bit."
    import librosa
    rng = np.random.default_rng(seed)
    t = np.arange(max(int(sr*seconds), 512))/sr
    y = (0.3*np.sin(2*np.pi*f0*t) + noise*rng.standard_normal(t.size)) * (t >= silent * t[-1])  # a silent start, or all silent
    y = y.astype(np.float32)
    S = np.abs(_centred_stft(y, 2048, 512))
    assert np.array_equal(S, _librosa_quietly(lambda: np.abs(librosa.stft(y))))
    cqt_frames = _librosa_quietly(lambda: librosa.stft(y, n_fft=1024, hop_length=128, window='ones', dtype=np.complex64))
    assert np.array_equal(_centred_stft(y, 1024, 128, window='ones'), cqt_frames)
    assert np.array_equal(_stft_magnitude(y, 2048, 512), S) and _stft_magnitude(y, 2048, 512).flags.f_contiguous == S.flags.f_contiguous
    assert np.array_equal(_zero_crossing_rate(y, 2048, 512), librosa.feature.zero_crossing_rate(y=y))
    assert np.array_equal(_rms(y, 2048, 512), librosa.feature.rms(y=y))
    if sr > 12800:  # the contrast's top band starts at 6.4 kHz
        for s in (S, np.ascontiguousarray(S)): assert np.array_equal(_spectral_contrast(s, sr, 2048), librosa.feature.spectral_contrast(S=s, sr=sr))
    else:
        for f in (lambda: _spectral_contrast(S, sr, 2048), lambda: librosa.feature.spectral_contrast(S=S, sr=sr)):
            with pytest.raises(librosa.util.exceptions.ParameterError, match='exceeds Nyquist'): f()
    for bpo in (12, 36): assert _tuning(S, sr, bpo) == _librosa_quietly(lambda: librosa.estimate_tuning(S=S, sr=sr, bins_per_octave=bpo)), bpo
    assert np.array_equal(_halve(y), librosa.resample(y, orig_sr=2, target_sr=1, res_type='soxr_hq', scale=True))
    if sr < 8500:  # the CQT's top filters reach about 4.1 kHz: librosa refuses, and so does the fast path, naming the rate
        with pytest.raises(librosa.util.exceptions.ParameterError, match='exceed the Nyquist'): _librosa_quietly(lambda: librosa.feature.tonnetz(y=y, sr=sr))
        with pytest.raises(ValueError, match=rf"constant-Q tonnetz needs a sample rate above \d+ Hz, not {sr} Hz"): _report_tonnetz(y, sr, S)
    else: assert np.array_equal(_report_tonnetz(y, sr, S), _librosa_quietly(lambda: librosa.feature.tonnetz(y=y, sr=sr)))  # 44.1 kHz: early downsampling

def test_zero_crossings_at_librosas_threshold():
    "Samples within 1e-10 of zero count as zero, not as a sign: float32 values on both sides of -1e-10 and +1e-10."
    import librosa
    t = np.float32(1e-10)
    values = np.array([-t, np.nextafter(-t, np.float32(0)), np.nextafter(-t, np.float32(-1)), t, np.nextafter(t, np.float32(0)),
                       0.0, -0.0, 0.5, -0.5, -2e-10, 5e-11, -5e-11], np.float32)
    y = np.random.default_rng(0).choice(values, 20_000)
    z = _zero_crossing_rate(y, 2048, 512)
    assert np.array_equal(z, librosa.feature.zero_crossing_rate(y=y)) and z.max() > 0.1

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sr=st.sampled_from([8000, 16000, 22050, 24414, 44100, 48000]), seconds=st.floats(0.2, 1.5),
       f0=st.floats(80, 400), noise=st.floats(0, 0.5), seed=st.integers(0, 2**16))
def test_fast_equals_reference_property(tmp_path, sr, seconds, f0, noise, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr*seconds))/sr
    y = 0.3*np.sin(2*np.pi*f0*t*(1 + 0.1*np.sin(2*np.pi*3*t))) + noise*rng.standard_normal(t.size)
    f = tmp_path/f'{seed}.wav'
    sf.write(f, (y/np.abs(y).max()*0.9).astype(np.float32), sr, subtype='FLOAT')
    x = load_audio(f)
    for k in TONNETZ_KINDS: assert relative_difference(clip_features(x, tonnetz=k), reference_features(x, tonnetz=k)).max() < 1e-4, k

def test_augmentation_is_deterministic_and_marked(corpus, tmp_path):
    y = load_audio(corpus.path.iloc[0])
    for kind in ('noise', 'stretch', 'pitch'):
        a, s = augment_signal(y, FEATURE_SR, kind, augment_rng('clip', kind))
        b, t = augment_signal(y, FEATURE_SR, kind, augment_rng('clip', kind))
        c, u = augment_signal(y, FEATURE_SR, kind, augment_rng('other', kind))
        assert s == t and np.array_equal(a, b) and s != u
    stretched, rate = augment_signal(y, FEATURE_SR, 'stretch', augment_rng('clip', 'stretch'))
    assert len(stretched) == pytest.approx(len(y)/rate, rel=0.02)
    few = corpus.head(3)
    t1 = extract_features(few, augment=('noise', 'pitch'), cache=None, progress=False).frame
    t2 = extract_features(few, augment=('noise', 'pitch'), cache=None, progress=False).frame
    pd.testing.assert_frame_equal(t1, t2)
    assert list(t1.augment) == ['none', 'noise', 'pitch'] * 3
    assert (t1.source == np.repeat(few.clip_id.to_numpy(), 3)).all()
    assert set(t1.clip_id) == set(few.clip_id) | {f'{c}+{k}' for c in few.clip_id for k in ('noise', 'pitch')}

def _write(path, data, sr, subtype=None):
    sf.write(path, data, sr, subtype=subtype); return path

@pytest.fixture(scope='module')
def bad_inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp('bad')
    sr, rng = 16000, np.random.default_rng(0)
    speech = 0.3*np.sin(2*np.pi*200*np.arange(sr)/sr).astype(np.float32)
    files = {
        'empty_file.wav': None, 'zero_length.wav': np.zeros(0, np.float32), 'one_sample.wav': np.array([0.1], np.float32),
        'silence.wav': np.zeros(sr, np.float32), 'shorter_than_window.wav': speech[:1000], 'shorter_than_hop.wav': speech[:300],
        'pcm_u8.wav': (speech, 'PCM_U8'), 'pcm_24.wav': (speech, 'PCM_24'), 'float.wav': (speech, 'FLOAT'),
        'stereo.wav': np.stack([speech, -speech*0.5], 1), 'six_channels.wav': np.tile(speech[:, None], (1, 6)),
        'nan.wav': (np.where(np.arange(sr) % 100 == 0, np.nan, speech).astype(np.float32), 'FLOAT'),
        'inf.wav': (np.where(np.arange(sr) == 5, np.inf, speech).astype(np.float32), 'FLOAT'),
    }
    for name, v in files.items():
        if v is None: (d/name).write_bytes(b''); continue
        data, sub = v if isinstance(v, tuple) else (v, None)
        _write(d/name, data, sr, sub)
    (d/'not_audio.wav').write_text('this is a text file with a .wav name\n' * 20)
    good = _write(d/'for_truncation.wav', speech, sr, 'PCM_16').read_bytes()
    (d/'truncated.wav').write_bytes(good[:len(good)//2])
    (d/'for_truncation.wav').unlink()
    return d

EXPECTED_ERRORS = {'empty_file.wav': 'empty file', 'zero_length.wav': 'empty audio', 'one_sample.wav': 'too short',
                   'shorter_than_hop.wav': 'too short', 'nan.wav': 'NaN/inf', 'inf.wav': 'NaN/inf',
                   'not_audio.wav': 'corrupt or unsupported audio'}

def test_bad_inputs_give_vector_or_clear_error(bad_inputs):
    for f in sorted(bad_inputs.iterdir()):
        res = clip_feature_rows(str(f), f.stem, ('none', 'noise'))
        if f.name in EXPECTED_ERRORS:
            assert 'error' in res and EXPECTED_ERRORS[f.name] in res['error'], (f.name, res)
        else:
            assert 'error' not in res, (f.name, res)
            for v in res['vectors'].values(): assert v.shape == (175,) and np.isfinite(v).all(), f.name

def test_bad_inputs_in_a_batch_are_counted(bad_inputs, corpus):
    m = pd.concat([pd.DataFrame({'path': [str(p) for p in sorted(bad_inputs.iterdir())]}), corpus.head(2)[['path', 'clip_id']]], ignore_index=True)
    t = extract_features(m, cache=None, progress=False)
    assert len(t.skipped) == len(EXPECTED_ERRORS) and t.stats['ok'] == len(m) - len(EXPECTED_ERRORS)
    assert np.isfinite(t.frame[FEATURE_NAMES].to_numpy()).all()
    reasons = {Path(p).name: r for p, r in t.skipped}
    assert set(reasons) == set(EXPECTED_ERRORS) and all(EXPECTED_ERRORS[n] in r for n, r in reasons.items()), reasons

def test_empty_file_error_names_the_file(bad_inputs):
    with pytest.raises(UnreadableAudioError, match=r'one_sample\.wav: too short'): load_audio(bad_inputs/'one_sample.wav')

def test_ten_minute_clip_gives_finite_vector(tmp_path):
    sr = 16000
    y = (0.2*np.sin(2*np.pi*150*np.arange(600*sr)/sr)).astype(np.float32)
    v = clip_features(load_audio(_write(tmp_path/'long.wav', y, sr, 'PCM_16')))
    assert v.shape == (175,) and np.isfinite(v).all()

def test_cache_hits_and_content_key(corpus, tmp_path):
    few = corpus.head(4)
    a = extract_features(few, cache=tmp_path, progress=False)
    b = extract_features(few, cache=tmp_path, progress=False)
    assert a.stats['cache_hits'] == 0 and b.stats['cache_hits'] == 4
    pd.testing.assert_frame_equal(a.frame, b.frame)
    moved = tmp_path/'moved.flac'; moved.write_bytes(Path(few.path.iloc[0]).read_bytes())
    c = extract_features(pd.DataFrame({'path': [str(moved)], 'clip_id': [few.clip_id.iloc[0]]}), cache=tmp_path, progress=False)
    assert c.stats['cache_hits'] == 1  # same content, another path: still cached

def test_killed_run_resumes_identically(corpus, tmp_path):
    manifest = tmp_path/'m.csv'
    corpus.to_csv(manifest, index=False)
    cache = tmp_path/'cache'
    proc = subprocess.Popen([EXE, 'features', str(manifest), '-o', str(tmp_path/'partial.parquet'), '--cache', str(cache),
                             '--augment', 'noise', '-q'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(cache.rglob('*.npy'))) < 40: time.sleep(0.05)
    proc.send_signal(signal.SIGKILL); proc.wait()
    temps = list(cache.rglob('*.tmp.npy'))
    done = len(list(cache.rglob('*.npy'))) - len(temps)
    assert 40 <= done < 2*len(corpus), done
    assert len(temps) <= 1, temps  # one process writes one vector at a time: at most that one is left half-written
    r = subprocess.run([EXE, 'features', str(manifest), '-o', str(tmp_path/'resumed.parquet'), '--cache', str(cache), '--augment', 'noise', '-q'],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert f'{done} cached vectors' in r.stdout
    r = subprocess.run([EXE, 'features', str(manifest), '-o', str(tmp_path/'clean.parquet'), '--no-cache', '--augment', 'noise', '-q'],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    resumed, clean = load_features(tmp_path/'resumed.parquet'), load_features(tmp_path/'clean.parquet')
    pd.testing.assert_frame_equal(resumed, clean)
    assert len(clean) == 2*len(corpus)

def test_dask_local_cluster_matches_loky(corpus, tmp_path):
    few = corpus.groupby('emotion').head(1)
    loky = extract_features(few, augment=('noise',), jobs=2, cache=None, progress=False)
    dask = extract_features(few, augment=('noise',), jobs=2, backend='dask', cache=tmp_path, progress=False)
    assert dask.stats['backend'] == 'dask'
    pd.testing.assert_frame_equal(loky.frame, dask.frame)

def test_cli_end_to_end_on_embedded_corpus(tmp_path):
    r = subprocess.run(f'"{EXE}" index "$("{EXE}" sample-data)" -q -o {tmp_path}/m.csv && '
                       f'"{EXE}" features {tmp_path}/m.csv -o {tmp_path}/f.parquet --jobs 2 --cache {tmp_path}/c -q',
                       shell=True, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert '210/210 clips -> 210 rows x 175 features' in r.stdout
    f = load_features(tmp_path/'f.parquet')
    assert f.shape[0] == 210 and f.synthetic.all() and (f.augment == 'none').all()
    assert list(f.columns[-175:]) == FEATURE_NAMES

def test_cli_errors(tmp_path):
    def run(*a): return subprocess.run([EXE, 'features', *map(str, a)], capture_output=True, text=True, timeout=120)
    r = run(tmp_path/'none.csv', '-o', tmp_path/'f.parquet')
    assert r.returncode == 2 and 'does not exist' in r.stderr
    pd.DataFrame({'file': ['a.wav']}).to_csv(tmp_path/'bad.csv', index=False)
    r = run(tmp_path/'bad.csv', '-o', tmp_path/'f.parquet')
    assert r.returncode == 2 and "no 'path' column" in r.stderr
    pd.DataFrame({'path': [str(tmp_path/'gone.wav')]}).to_csv(tmp_path/'gone.csv', index=False)
    r = run(tmp_path/'gone.csv', '-o', tmp_path/'f.parquet', '--augment', 'reverb')
    assert r.returncode == 2 and 'unknown --augment reverb' in r.stderr
    r = run(tmp_path/'gone.csv', '-o', tmp_path/'f.parquet', '--no-cache')
    assert r.returncode == 2 and 'file does not exist' in r.stdout and 'no clip' in r.stderr

def test_load_features_checks_layout(tmp_path):
    pd.DataFrame({'a': [1]}).to_parquet(tmp_path/'x.parquet')
    with pytest.raises(ValueError, match='missing 175 feature column'): load_features(tmp_path/'x.parquet')
    (tmp_path/'y.parquet').write_text('nope')
    with pytest.raises(ValueError, match='not a readable Parquet'): load_features(tmp_path/'y.parquet')

def test_cache_and_tables_keep_the_kinds_apart(corpus, tmp_path):
    few = corpus.head(3)
    report = extract_features(few, cache=tmp_path, progress=False)  # the default kind
    fast = extract_features(few, cache=tmp_path, progress=False, tonnetz='fast')
    again = extract_features(few, cache=tmp_path, progress=False, tonnetz='fast')
    assert DEFAULT_TONNETZ == 'report' and report.stats['tonnetz'] == 'report'
    assert fast.stats['cache_hits'] == 0 and again.stats['cache_hits'] == 3  # a vector of one kind is never reused for the other
    pd.testing.assert_frame_equal(fast.frame, again.frame)
    cols = FEATURE_NAMES[TONNETZ]
    pd.testing.assert_frame_equal(report.frame.drop(columns=cols), fast.frame.drop(columns=cols))
    assert (relative_difference(fast.frame[cols].to_numpy(), report.frame[cols].to_numpy()) > 1e-2).any(axis=1).all()
    for kind, table in (('report', report), ('fast', fast)):
        f = save_features(table, tmp_path/f'{kind}.parquet')
        assert load_features(f, tonnetz=kind).attrs == {'feature_version': FEATURE_VERSIONS[kind], 'tonnetz': kind}
        other = 'fast' if kind == 'report' else 'report'
        with pytest.raises(ValueError, match=f'features {FEATURE_VERSIONS[kind]}, expected {FEATURE_VERSIONS[other]}'): load_features(f, tonnetz=other)
    bare = pd.DataFrame(report.frame.to_dict('list'))  # a frame without the table's attrs
    assert bare.attrs == {}
    with pytest.raises(ValueError, match="does not say its tonnetz kind"): save_features(bare, tmp_path/'x.parquet')
    bare.to_parquet(tmp_path/'unversioned.parquet')
    with pytest.raises(ValueError, match='features of unknown version'): load_features(tmp_path/'unversioned.parquet')

def test_cli_tonnetz_option(corpus, tmp_path):
    corpus.head(3).to_csv(tmp_path/'m.csv', index=False)
    def run(*a): return subprocess.run([EXE, 'features', str(tmp_path/'m.csv'), '--no-cache', '-q', *map(str, a)], capture_output=True, text=True, timeout=300)
    for kind in TONNETZ_KINDS:
        r = run('-o', tmp_path/f'{kind}.parquet', '--tonnetz', kind)
        assert r.returncode == 0, r.stderr
    assert load_features(tmp_path/'report.parquet').attrs['tonnetz'] == 'report'  # the default kind
    fast = load_features(tmp_path/'fast.parquet', tonnetz='fast')
    assert fast.attrs['tonnetz'] == 'fast'
    with pytest.raises(ValueError, match='recompute with emotion-nbdev features --tonnetz report'): load_features(tmp_path/'fast.parquet')
    r = run('-o', tmp_path/'x.parquet', '--tonnetz', 'cqt')
    assert r.returncode == 2 and "invalid choice: 'cqt'" in r.stderr
