"The embedded synthetic corpus: shape, labelling, integrity, and byte-identical regeneration."
import hashlib, json
import numpy as np
import soundfile as sf
from emotion_nbdev.core import EMOTIONS
from emotion_nbdev.audio_data import (load_synthetic_speech, synthetic_speech_dir, synthesize_speech_corpus,
    SYNTHETIC_VOICES, SYNTHETIC_MARKER, index_audio, detect_dataset)
from conftest import require_tool

def meta(): return json.loads((synthetic_speech_dir()/SYNTHETIC_MARKER).read_text())

def test_corpus_shape_and_labels():
    idx = load_synthetic_speech()
    m = idx.manifest
    assert len(idx.skipped) == 0 and detect_dataset(synthetic_speech_dir()) == 'synthetic'
    assert (m.dataset == 'synthetic').all() and m.synthetic.all()
    assert sorted(m.emotion.unique()) == list(EMOTIONS)
    assert m.speaker.nunique() >= 8 and m.sentence.nunique() >= 3
    assert len(m) == m.speaker.nunique() * len(EMOTIONS) * m.sentence.nunique()  # complete design
    assert m.groupby('emotion').size().nunique() == 1                            # balanced
    assert set(m.sex) == {'female', 'male'} and set(m.sr) == {16000}
    engines = {v[0] for v in SYNTHETIC_VOICES.values()}
    assert engines == {'espeak-ng', 'flite'}

def test_corpus_size_and_integrity():
    files = sorted((synthetic_speech_dir()/'ALL').iterdir())
    assert sum(f.stat().st_size for f in files) <= 6 * 2**20
    sums = meta()['sha256']
    assert sorted(sums) == [f.name for f in files]
    for f in files:
        assert hashlib.sha256(f.read_bytes()).hexdigest() == sums[f.name], f
        info = sf.info(str(f))
        assert info.channels == 1 and info.samplerate == 16000 and info.subtype == 'PCM_16'

def test_prosody_acted_as_specified():
    "Rate and loudness follow EMOTION_PROSODY: disgust/sadness slow and quiet, anger loud, fear fast."
    m = load_synthetic_speech().manifest
    dur = m.groupby('emotion').duration.mean()
    assert dur['disgust'] > dur['sadness'] > dur['neutral'] > dur['fear']
    rms = {e: np.mean([20*np.log10(np.sqrt(np.mean(sf.read(p)[0]**2))) for p in g.path]) for e, g in m.groupby('emotion')}
    assert rms['anger'] > rms['neutral'] > rms['sadness']

def test_corpus_labelled_synthetic_when_merged(tmp_path, savee_root):
    m = index_audio([synthetic_speech_dir(), savee_root]).manifest
    assert m.groupby('dataset').synthetic.all().to_dict() == {'savee': False, 'synthetic': True}

def test_regeneration_is_byte_identical(tmp_path):
    "Two voices (one per engine) regenerated from the recorded seed give the committed bytes."
    require_tool('espeak-ng'); require_tool('flite')
    recorded = meta()
    voices = {k: SYNTHETIC_VOICES[k] for k in ('V1', 'V7')}
    out = synthesize_speech_corpus(tmp_path/'corpus', seed=recorded['seed'], voices=voices, progress=False)
    new = json.loads((out/SYNTHETIC_MARKER).read_text())
    assert new['tools'] == recorded['tools'], 'synthesiser versions differ from the recorded ones'
    assert len(new['sha256']) == 2 * len(EMOTIONS) * 3
    assert all(recorded['sha256'][k] == v for k, v in new['sha256'].items())
