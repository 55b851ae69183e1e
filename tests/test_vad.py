"""The voice lane's activity detectors: Silero on onnxruntime (vendored network, provenance, no torch), streaming in any
pieces, late flags through the lane, energy kept by name, real speech from Debian packages (skipped where missing), bad input."""
import hashlib, json, subprocess, sys, tomllib
from pathlib import Path
import numpy as np
import pytest

from emotion_nbdev.timeline import (SILERO_CHUNK, SILERO_CONTEXT, VAD_FRAME, SileroDetector, SpeechDetector, VideoError, VoiceLane,
                                    add_noise, analyse_long_audio, detect_speech, frame_truth, installed_speech, read_prompt,
                                    silero_probabilities, silero_vad_path, speech_detector, speech_with_pauses, vad_scores)

ROOT = Path(__file__).resolve().parents[1]
SR = 22050

@pytest.fixture(scope='module')
def speech():
    "Two embedded SYNTHETIC sentences at 22,050 Hz with 0.6 s of digital silence before and after them and 1 s between, and the truth per sample."
    import soundfile as sf, soxr
    from emotion_nbdev.audio_data import load_synthetic_speech
    paths = load_synthetic_speech().manifest.query("speaker == 'V1'").sort_values('path')['path'].tolist()[:2]
    prompts = [soxr.resample(sf.read(p, dtype='float32')[0], 16000, SR).astype(np.float32) for p in paths]
    return speech_with_pauses(prompts, [0.6, 1.0, 0.6])

def test_vendored_network_matches_its_provenance():
    d = silero_vad_path().parent
    prov = json.loads((d/'PROVENANCE.json').read_text())
    data = silero_vad_path().read_bytes()
    assert (len(data), hashlib.sha256(data).hexdigest()) == (prov['size_bytes'], prov['sha256'])
    assert prov['source']['package'] == 'silero-vad' and prov['source']['version'] == '6.2.3' and prov['licence'].startswith('MIT')
    assert 'Permission is hereby granted, free of charge' in (d/prov['source']['notice']).read_text()
    pins = [l for l in tomllib.loads((ROOT/'pyproject.toml').read_text())['project']['dependencies'] if l.startswith('onnxruntime')]
    assert pins and pins[0] in (ROOT/'constraints.txt').read_text().splitlines(), pins  # the same exact pin in both
    assert not [l for l in tomllib.loads((ROOT/'pyproject.toml').read_text())['project']['dependencies'] if l.startswith('torch')]

def test_silero_runs_without_torch():
    code = ("import sys, numpy as np; from emotion_nbdev.timeline import detect_speech; "
            "f = detect_speech(np.zeros(22050, np.float32), 'silero'); assert len(f) == 43 and not f.any(); assert 'torch' not in sys.modules")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    from importlib.metadata import requires
    assert not [q for q in requires('onnxruntime') or [] if q.lower().startswith('torch')]  # nor does the runtime pull it in

def test_blocks_equal_chunk_by_chunk():
    "The state carried between calls: one call over 40 chunks gives what 40 calls of one chunk give."
    rng = np.random.default_rng(0)
    x = np.hstack([np.zeros((40, SILERO_CONTEXT)), rng.standard_normal((40, SILERO_CHUNK))*0.1]).astype(np.float32)
    zero = (np.zeros((1, 1, 128), np.float32),)*2
    whole, state = silero_probabilities(x, zero)
    one, s = [], zero
    for row in x:
        p, s = silero_probabilities(row[None], s); one.append(p[0])
    np.testing.assert_allclose(whole, one, atol=1e-6)
    np.testing.assert_allclose(state[0], s[0], atol=1e-6)

def test_silero_hears_speech_not_silence_or_noise(speech):
    y, truth = speech
    f, t = detect_speech(y, 'silero'), frame_truth(truth)
    s = vad_scores(f, t)
    assert s['accuracy'] > 0.9 and s['recall'] > 0.9, s
    hiss = (0.03*np.random.default_rng(1).standard_normal(2*SR)).astype(np.float32)  # steady noise at about -30 dBFS, nobody speaking
    assert detect_speech(hiss, 'silero').mean() < 0.1
    raw = detect_speech(y, 'silero', hangover=False)  # the lane widens Silero's speech by one frame each side, energy's by three
    np.testing.assert_array_equal(f, np.convolve(raw, np.ones(3), 'same') > 0)
    assert detect_speech(hiss, 'energy').mean() > 0.9  # the energy detector's known weakness

@pytest.mark.parametrize('piece', [1, 3, 64])
def test_flags_do_not_depend_on_the_pieces(speech, piece):
    y, _ = speech
    whole = detect_speech(y, 'silero', piece=len(y)//VAD_FRAME*VAD_FRAME, hangover=False)
    np.testing.assert_array_equal(detect_speech(y, 'silero', piece=piece*VAD_FRAME, hangover=False), whole)

def test_detector_answers_late_and_flushes(speech):
    y, _ = speech
    det, n = SileroDetector(), len(y)//VAD_FRAME
    first = det(y[:8*VAD_FRAME].reshape(8, VAD_FRAME))
    assert len(first) < 8  # the resampler and the 32 ms chunks hold a little sound back
    rest = det(y[8*VAD_FRAME:n*VAD_FRAME].reshape(-1, VAD_FRAME))
    assert len(first) + len(rest) + len(det.flush()) == n and len(det.flush()) == 0
    with pytest.raises(ValueError, match='this stream has ended'): det(y[:VAD_FRAME].reshape(1, VAD_FRAME))

class LateEnergy:
    "The energy detector answering five frames late, with a flush: the lane must give what the plain energy detector gives."
    def __init__(self): self.inner, self.held = SpeechDetector(), np.zeros(0, bool)
    def __call__(self, frames):
        self.held = np.concatenate([self.held, self.inner(frames)]); out, self.held = self.held[:-5], self.held[-5:]
        return out
    def flush(self): out, self.held = self.held, np.zeros(0, bool); return out

def lane_result(y, vad, piece):
    lane = VoiceLane(vad=vad)
    for a in range(0, len(y), piece): lane.feed(y[a:a + piece])
    lane.close()
    return [(k, round(s, 6), r is None) for k, s, r in lane.steps], lane.runs

def test_voice_lane_with_late_flags(speech):
    y, _ = speech
    assert lane_result(y, LateEnergy(), 3000) == lane_result(y, 'energy', 3000)
    steps, runs = lane_result(y, 'silero', 1000)
    assert (steps, runs) == lane_result(y, 'silero', 7777)  # any pieces
    assert len(runs) == 2 and sum(not none for _, _, none in steps) >= 3  # the two sentences, answered

def test_unknown_detector_is_refused_before_decoding(tmp_path):
    with pytest.raises(ValueError, match="unknown voice-activity detector 'webrtc': use one of 'silero', 'energy'"): VoiceLane(vad='webrtc')
    with pytest.raises(ValueError, match='unknown voice-activity detector'): analyse_long_audio(tmp_path/'missing.wav', None, vad='nope')
    assert isinstance(speech_detector('energy'), SpeechDetector) and speech_detector(len) is len

def test_noise_at_its_snr_and_bad_kinds(speech):
    y, truth = speech
    for kind in ('white', 'pink'):
        noise = add_noise(y, truth, kind, 10.0) - y
        assert abs(10*np.log10(np.mean(y[truth]**2)/np.mean(noise**2)) - 10.0) < 0.01
    with pytest.raises(ValueError, match="unknown noise 'brown'"): add_noise(y, truth, 'brown', 10)
    with pytest.raises(ValueError, match='babble without speech'): add_noise(y, truth, 'babble', 10)

def test_speech_sources_found_at_run_time_and_bad_files(tmp_path):
    (tmp_path/'voice'/'silence').mkdir(parents=True); (tmp_path/'voice'/'empty.wav').write_bytes(b'')
    import soundfile as sf
    sf.write(tmp_path/'voice'/'silence'/'1.wav', np.zeros(8000, np.float32), 8000)  # asterisk's pauses: not speech, never listed
    (tmp_path/'voice'/'garbage.wav').write_bytes(b'RIFF' + bytes(range(256))*20)
    got = installed_speech(0.0, 10.0, {'here': tmp_path/'voice', 'gone': tmp_path/'nowhere'})
    assert got.attrs['missing'] == ['gone'] and got.empty
    assert [m.split(':')[0] for m in got.attrs['skipped']] == ['empty.wav', 'garbage.wav']  # counted, named, and the rest goes on
    with pytest.raises(VideoError, match=r'empty\.wav: empty file'): read_prompt(tmp_path/'voice'/'empty.wav')
    with pytest.raises(VideoError, match=r'garbage\.wav: corrupt'): read_prompt(tmp_path/'voice'/'garbage.wav')
    (tmp_path/'short.raw').write_bytes(b'\x00')
    with pytest.raises(VideoError, match=r'short\.raw: missing or empty'): read_prompt(tmp_path/'short.raw')

def test_real_speech_in_noise():
    "REAL prompts of one speaker (asterisk's en_US Allison) with pauses: Silero keeps the pauses under white noise, energy does not."
    speech = installed_speech()
    en = speech[speech['source'] == 'asterisk en_US Allison']
    if len(en) < 6: pytest.skip('asterisk-core-sounds-en-wav is not installed: no real speech to test on')
    rng = np.random.default_rng(0)
    y, truth = speech_with_pauses([read_prompt(p) for p in rng.choice(en['path'], 6, replace=False)], [0.5, 1.0, 2.0, 0.5, 1.0, 2.0, 0.5])
    t = frame_truth(truth)
    clean = {k: vad_scores(detect_speech(y, k), t) for k in ('energy', 'silero')}
    noisy = {k: vad_scores(detect_speech(add_noise(y, truth, 'white', 10), k), t) for k in ('energy', 'silero')}
    assert clean['energy']['accuracy'] > 0.85 and clean['silero']['accuracy'] > 0.85, clean
    assert noisy['silero']['accuracy'] > noisy['energy']['accuracy'] + 0.15 and noisy['silero']['accuracy'] > 0.85, noisy
