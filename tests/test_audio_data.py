"Loaders on fixture trees with every quirk of DATASETS.md: exact labels, speakers, sentences, counts, skips."
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from hypothesis import given, strategies as st
from emotion_nbdev.core import EMOTIONS
from emotion_nbdev.audio_data import (index_dataset, index_audio, detect_dataset, parse_savee, parse_ravdess,
    NoRecognisedAudioError, MANIFEST_COLUMNS, audio_info, UnreadableAudioError, manifest_summary)
from conftest import write_tone

def rows(idx, cols=('speaker', 'emotion', 'sentence', 'intensity', 'sex')):
    m = idx.manifest.sort_values('clip_id')
    return {r.clip_id: tuple(getattr(r, c) for c in cols) for r in m.itertuples()}

def reasons(idx):
    return {Path(p).name: r for p, r in idx.skipped}

def test_crema_d(crema_root):
    assert detect_dataset(crema_root) == 'crema-d'
    idx = index_dataset(crema_root)
    assert list(idx.manifest.columns) == MANIFEST_COLUMNS
    assert rows(idx) == {
        '1001_DFA_ANG_XX': ('1001', 'anger', 'DFA', 'unspecified', 'male'),
        '1001_IEO_HAP_HI': ('1001', 'happiness', 'IEO', 'high', 'male'),
        '1002_IEO_NEU_XX': ('1002', 'neutral', 'IEO', 'unspecified', 'female'),
        '1002_TSI_DIS_XX': ('1002', 'disgust', 'TSI', 'unspecified', 'female'),
        '1091_IEO_FEA_LO': ('1091', 'fear', 'IEO', 'low', 'female'),
        '1091_ITH_SAD_XX': ('1091', 'sadness', 'ITH', 'unspecified', 'female')}
    assert set(idx.manifest.sr) == {16000} and np.allclose(idx.manifest.duration, 0.2)
    assert not idx.manifest.synthetic.any()
    r = reasons(idx)
    assert r == {'1076_MTI_SAD_XX.wav': 'empty audio: 0 samples', '1064_TIE_SAD_XX.wav': 'empty file: 0 bytes',
                 '1064_IEO_DIS_MD.wav': r['1064_IEO_DIS_MD.wav'], '.DS_Store': 'hidden or system file',
                 '._1001_DFA_ANG_XX.wav': 'hidden or system file', '1001_DFA_SUR_XX.wav': 'unknown CREMA-D emotion code SUR'}
    assert r['1064_IEO_DIS_MD.wav'].startswith('corrupt or unsupported audio')
    assert len(idx.skipped) == 6 and idx.skipped.counts()['hidden or system file'] == 2

def test_crema_d_without_demographics(crema_root):
    (crema_root/'VideoDemographics.csv').unlink()
    assert index_dataset(crema_root).manifest.sex.isna().all()

def test_tess_label_from_file_name_and_duplicates(tess_root):
    assert detect_dataset(tess_root) == 'tess'
    idx = index_dataset(tess_root)
    assert rows(idx) == {
        'OAF_back_fear': ('OAF', 'fear', 'back', 'unspecified', 'female'),
        'OAF_back_ps': ('OAF', 'surprise', 'back', 'unspecified', 'female'),
        'OAF_bath_sad': ('OAF', 'sadness', 'bath', 'unspecified', 'female'),
        'OAF_dog_disgust': ('OAF', 'disgust', 'dog', 'unspecified', 'female'),
        'OAF_dog_neutral': ('OAF', 'neutral', 'dog', 'unspecified', 'female'),
        'OAF_lean_sad': ('OAF', 'sadness', 'lean', 'unspecified', 'female'),
        'YAF_bath_sad': ('YAF', 'sadness', 'bath', 'unspecified', 'female'),
        'YAF_dog_angry': ('YAF', 'anger', 'dog', 'unspecified', 'female'),
        'YAF_dog_happy': ('YAF', 'happiness', 'dog', 'unspecified', 'female'),
        'YAF_germ_ps': ('YAF', 'surprise', 'germ', 'unspecified', 'female')}
    assert set(idx.manifest.sr) == {24414}
    dup = [(p, r) for p, r in idx.skipped if r.startswith('duplicate clip OAF_back_fear')]
    assert len(dup) == 1 and dup[0][0].count('TESS Toronto emotional speech set data') == 2
    assert reasons(idx)['YAF_bath_sad_take2.wav'].startswith('name does not follow TESS')
    assert len(idx.skipped) == 2

def test_savee_kaggle_layout(savee_root):
    assert detect_dataset(savee_root) == 'savee'
    idx = index_dataset(savee_root)
    assert rows(idx) == {
        'DC_a01': ('DC', 'anger', '01', 'unspecified', 'male'), 'DC_sa01': ('DC', 'sadness', '01', 'unspecified', 'male'),
        'DC_su01': ('DC', 'surprise', '01', 'unspecified', 'male'), 'JE_d02': ('JE', 'disgust', '02', 'unspecified', 'male'),
        'JK_f03': ('JK', 'fear', '03', 'unspecified', 'male'), 'KL_h04': ('KL', 'happiness', '04', 'unspecified', 'male'),
        'KL_n30': ('KL', 'neutral', '30', 'unspecified', 'male')}
    assert set(idx.manifest.sr) == {44100}
    assert list(reasons(idx)) == ['DC_x01.wav']

def test_savee_original_layout(savee_original_root):
    assert detect_dataset(savee_original_root) == 'savee'
    idx = index_dataset(savee_original_root)
    assert rows(idx, ('speaker', 'emotion', 'sentence')) == {
        'DC_a01': ('DC', 'anger', '01'), 'JE_sa02': ('JE', 'sadness', '02'), 'JK_n05': ('JK', 'neutral', '05'),
        'KL_su15': ('KL', 'surprise', '15')}
    assert reasons(idx) == {'info.txt': 'not an audio file: .txt'}

def test_ravdess(ravdess_root):
    assert detect_dataset(ravdess_root) == 'ravdess'
    idx = index_dataset(ravdess_root)
    assert rows(idx) == {
        '03-01-02-01-01-01-02': ('02', 'calm', '01', 'normal', 'female'),
        '03-01-04-02-01-01-12': ('12', 'sadness', '01', 'strong', 'female'),
        '03-01-05-01-02-01-01': ('01', 'anger', '02', 'normal', 'male'),
        '03-01-08-02-02-02-02': ('02', 'surprise', '02', 'strong', 'female')}
    extra = idx.manifest.set_index('clip_id').loc['03-01-04-02-01-01-12']
    assert extra.sr == 48000 and extra.duration == pytest.approx(0.3)  # the extra RIFF chunk is read through
    r = reasons(idx)
    assert r['03-02-03-01-01-01-01.wav'].startswith('RAVDESS song')
    assert r['03-01-03-01-01-01-04.wav'] == 'actor 04 in the file name but the folder is Actor_03'
    assert len(idx.skipped) == 2

def test_ravdess_options(ravdess_root):
    dropped = index_dataset(ravdess_root, calm='drop')
    assert 'calm' not in set(dropped.manifest.emotion) and len(dropped) == 3
    assert dropped.skipped.counts()['RAVDESS calm dropped (calm=\'drop\')'] == 1
    with_song = index_dataset(ravdess_root, include_song=True)
    assert len(with_song) == 5 and '03-02-03-01-01-01-01' in set(with_song.manifest.clip_id)

def test_merge_roots(crema_root, tess_root, savee_root, ravdess_root):
    idx = index_audio([crema_root, tess_root, savee_root, ravdess_root])
    assert idx.manifest.groupby('dataset').size().to_dict() == {'crema-d': 6, 'tess': 10, 'savee': 7, 'ravdess': 4}
    assert len(idx.skipped) == 6 + 2 + 1 + 2
    t = manifest_summary(idx.manifest)
    assert t.loc['total', 'total'] == 27 and t.loc['tess', 'surprise'] == 2 and t.loc['crema-d', 'anger'] == 1
    assert set(idx.manifest.emotion) <= set(EMOTIONS) | {'calm'}

def test_wrong_dataset_is_reported_not_mislabelled(tess_root):
    with pytest.raises(NoRecognisedAudioError, match='no usable crema-d clips'):
        index_dataset(tess_root, 'crema-d')

def test_missing_and_empty_roots(tmp_path):
    with pytest.raises(NoRecognisedAudioError, match='does not exist'): index_dataset(tmp_path/'nope')
    with pytest.raises(NoRecognisedAudioError, match='holds no audio'): index_dataset(tmp_path)
    write_tone(tmp_path/'hello.wav', 16000)
    with pytest.raises(NoRecognisedAudioError, match='holds no audio named like'): detect_dataset(tmp_path)
    with pytest.raises(ValueError, match="unknown dataset 'timit'"): index_dataset(tmp_path, 'timit')

def test_audio_info_errors(tmp_path):
    with pytest.raises(UnreadableAudioError, match='does not exist'): audio_info(tmp_path/'x.wav')
    (tmp_path/'e.wav').write_bytes(b'')
    with pytest.raises(UnreadableAudioError, match=r'e\.wav: empty file'): audio_info(tmp_path/'e.wav')
    assert audio_info(write_tone(tmp_path/'ok.wav', 22050, 0.5)) == (pytest.approx(0.5), 22050)

_savee = {'a': 'anger', 'd': 'disgust', 'f': 'fear', 'h': 'happiness', 'n': 'neutral', 'sa': 'sadness', 'su': 'surprise'}

@given(st.sampled_from(['DC', 'JE', 'JK', 'KL']), st.sampled_from(sorted(_savee)), st.integers(1, 30))
def test_savee_names_property(spk, code, num):
    flat = parse_savee(Path(f'ALL/{spk}_{code}{num:02d}.wav'))
    nested = parse_savee(Path(f'AudioData/{spk}/{code}{num:02d}.wav'))
    assert flat == nested and flat['emotion'] == _savee[code] and flat['sentence'] == f'{num:02d}'

_ravdess = {1: 'neutral', 2: 'calm', 3: 'happiness', 4: 'sadness', 5: 'anger', 6: 'fear', 7: 'disgust', 8: 'surprise'}

@given(st.integers(1, 8), st.integers(1, 2), st.integers(1, 2), st.integers(1, 2), st.integers(1, 24))
def test_ravdess_names_property(emo, inten, stmt, rep, actor):
    name = f'03-01-{emo:02d}-{inten:02d}-{stmt:02d}-{rep:02d}-{actor:02d}'
    d = parse_ravdess(Path(f'Actor_{actor:02d}/{name}.wav'))
    assert (d['emotion'], d['sentence'], d['speaker']) == (_ravdess[emo], f'{stmt:02d}', f'{actor:02d}')
    assert d['intensity'] == ('normal', 'strong')[inten-1] and d['sex'] == ('female', 'male')[actor % 2]
