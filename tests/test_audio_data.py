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

# Videos beside the audio (DATASETS.md, Video): indexed by name with `media='video'|'all'`, never decoded.
FLV, MP4 = b'FLV\x01\x05\x00\x00\x00\x09', b'\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00'  # dummy headers; never decoded
LABELS = ('speaker', 'emotion', 'sentence', 'intensity', 'sex')
CREMA_GOOD = ('1001_DFA_ANG_XX', '1001_IEO_HAP_HI', '1002_IEO_NEU_XX', '1002_TSI_DIS_XX', '1091_ITH_SAD_XX', '1091_IEO_FEA_LO')

def write_video(path, head):
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(head)
    return path

@pytest.fixture
def crema_av_root(crema_root):
    "The CREMA-D fixture with `VideoFlash/` beside `AudioWAV/`: the six good takes, an empty download, a macOS twin, a bad code."
    flash = crema_root/'VideoFlash'
    for n in CREMA_GOOD: write_video(flash/f'{n}.flv', FLV)
    (flash/'1076_MTI_SAD_XX.flv').write_bytes(b'')
    write_video(flash/'._1001_DFA_ANG_XX.flv', b'\x00\x05\x16\x07')
    write_video(flash/'1001_DFA_SUR_XX.flv', FLV)
    return crema_root

@pytest.fixture
def ravdess_av_root(ravdess_root):
    "The RAVDESS fixture with the speech and song video folders of the real download."
    for f in ('Video_Speech_Actor_01/Actor_01/01-01-05-01-02-01-01.mp4',   # audio+video of the take 03-01-05-01-02-01-01
              'Video_Speech_Actor_01/Actor_01/02-01-05-01-02-01-01.mp4',   # video-only of the same take
              'Video_Speech_Actor_02/Actor_02/01-01-08-02-02-02-02.mp4',
              'Video_Speech_Actor_02/Actor_02/02-01-02-01-01-01-02.mp4',
              'Video_Song_Actor_01/Actor_01/01-02-03-01-01-01-01.mp4',     # song
              'Video_Speech_Actor_03/Actor_03/01-01-03-01-01-01-04.mp4',   # actor/folder mismatch
              'Video_Speech_Actor_01/Actor_01/03-01-05-01-02-02-01.mp4'):  # an audio-only name on a video
        write_video(ravdess_root/f, MP4)
    return ravdess_root

def test_crema_d_default_is_audio_only_and_reports_the_videos(crema_av_root):
    idx = index_dataset(crema_av_root)
    assert list(idx.manifest.columns) == MANIFEST_COLUMNS and set(idx.manifest.clip_id) == set(CREMA_GOOD)
    assert all(Path(p).suffix == '.wav' for p in idx.manifest.path)
    r = reasons(idx)
    assert {n: r[n] for n in r if n.endswith('.flv') and not n.startswith('.')} == {
        f'{n}.flv': 'not an audio file: .flv' for n in CREMA_GOOD + ('1076_MTI_SAD_XX', '1001_DFA_SUR_XX')}
    assert len(idx.skipped) == 6 + 9  # the six audio skips of test_crema_d, and every video file

def test_crema_d_video(crema_av_root):
    assert detect_dataset(crema_av_root, media='video') == 'crema-d'
    idx = index_dataset(crema_av_root, media='video')
    assert list(idx.manifest.columns) == MANIFEST_COLUMNS + ['modality']
    audio = index_dataset(crema_av_root)
    assert rows(idx, LABELS) == rows(audio, LABELS)  # the same labels, sex from VideoDemographics.csv included
    assert set(idx.manifest.modality) == {'audio+video'} and idx.manifest.duration.isna().all() and idx.manifest.sr.isna().all()
    assert all(Path(p).parent.name == 'VideoFlash' and p.endswith('.flv') for p in idx.manifest.path)
    r = reasons(idx)
    assert r['1076_MTI_SAD_XX.flv'] == 'empty file: 0 bytes'
    assert r['._1001_DFA_ANG_XX.flv'] == 'hidden or system file'
    assert r['1001_DFA_SUR_XX.flv'] == 'unknown CREMA-D emotion code SUR'
    wavs = [p for p, why in idx.skipped if why == "audio file, left out with media='video'"]
    assert len(wavs) == 10 and all(p.endswith('.wav') for p in wavs)  # every visible WAV, good or not, counted
    assert len(idx.skipped) == 3 + 10 + 2  # the bad videos, the WAVs left out, the two hidden files of the audio fixture

def test_crema_d_all_pairs_audio_and_video(crema_av_root):
    idx = index_dataset(crema_av_root, media='all')
    m = idx.manifest
    assert m.groupby('modality').size().to_dict() == {'audio': 6, 'audio+video': 6}
    pairs = m.pivot(index='clip_id', columns='modality', values='emotion')
    assert (pairs['audio'] == pairs['audio+video']).all() and set(pairs.index) == set(CREMA_GOOD)
    assert m.loc[m.modality == 'audio', 'duration'].notna().all()
    assert not any(why.startswith('duplicate clip') for _, why in idx.skipped)  # a take's audio and video are not duplicates
    assert len(idx.skipped) == 6 + 3  # the audio fixture's skips and the three bad videos

def test_ravdess_video(ravdess_av_root):
    idx = index_dataset(ravdess_av_root, media='video')
    m = idx.manifest.set_index('clip_id')
    assert m.modality.to_dict() == {'01-01-05-01-02-01-01': 'audio+video', '02-01-05-01-02-01-01': 'video',
                                    '01-01-08-02-02-02-02': 'audio+video', '02-01-02-01-01-01-02': 'video'}
    assert rows(idx) == {
        '01-01-05-01-02-01-01': ('01', 'anger', '02', 'normal', 'male'), '02-01-05-01-02-01-01': ('01', 'anger', '02', 'normal', 'male'),
        '01-01-08-02-02-02-02': ('02', 'surprise', '02', 'strong', 'female'), '02-01-02-01-01-01-02': ('02', 'calm', '01', 'normal', 'female')}
    r = reasons(idx)
    assert r['01-02-03-01-01-01-01.mp4'].startswith('RAVDESS song')
    assert r['01-01-03-01-01-01-04.mp4'] == 'actor 04 in the file name but the folder is Actor_03'
    assert r['03-01-05-01-02-02-01.mp4'] == 'RAVDESS modality 03 is audio-only, not a video (.mp4 file)'
    assert sum(why == "audio file, left out with media='video'" for _, why in idx.skipped) == 6
    assert len(idx.skipped) == 3 + 6
    song = index_dataset(ravdess_av_root, media='video', include_song=True, calm='drop')
    assert '01-02-03-01-01-01-01' in set(song.manifest.clip_id) and 'calm' not in set(song.manifest.emotion)

def test_ravdess_audio_and_video_labels_agree(ravdess_av_root):
    idx = index_dataset(ravdess_av_root, media='all')
    m = idx.manifest.assign(take=idx.manifest.clip_id.str[3:])  # the six fields after the modality
    take = m[m['take'] == '01-05-01-02-01-01'].set_index('modality')
    assert sorted(take.index) == ['audio', 'audio+video', 'video']
    assert (take[list(LABELS)].nunique() == 1).all()
    assert m.groupby('modality').size().to_dict() == {'audio': 4, 'audio+video': 2, 'video': 2}

def test_video_only_download_is_detected_only_with_media(ravdess_av_root):
    videos = ravdess_av_root/'Video_Speech_Actor_02'
    with pytest.raises(NoRecognisedAudioError, match='holds no audio named like'): detect_dataset(videos)
    assert detect_dataset(videos, media='video') == 'ravdess' and detect_dataset(videos, media='all') == 'ravdess'
    assert len(index_audio(videos, media='video')) == 2
    with pytest.raises(NoRecognisedAudioError, match='no usable ravdess clips'): index_dataset(videos, 'ravdess')

def test_merge_roots_with_video(crema_av_root, ravdess_av_root, tess_root):
    write_video(tess_root/'OAF_Fear'/'OAF_back_fear.mp4', MP4)  # TESS has no video: reported, not guessed
    idx = index_audio([crema_av_root, ravdess_av_root, tess_root], media='all')
    assert idx.manifest.groupby(['dataset', 'modality']).size().to_dict() == {
        ('crema-d', 'audio'): 6, ('crema-d', 'audio+video'): 6, ('ravdess', 'audio'): 4, ('ravdess', 'audio+video'): 2,
        ('ravdess', 'video'): 2, ('tess', 'audio'): 10}
    assert reasons(idx)['OAF_back_fear.mp4'] == 'video files are indexed for CREMA-D and RAVDESS only, not tess'
    assert len(idx.skipped) == (6 + 3) + (2 + 3) + (2 + 1)

def test_media_option_errors(crema_av_root):
    with pytest.raises(ValueError, match="unknown media 'film'; use one of audio, video, all"): index_dataset(crema_av_root, media='film')
    with pytest.raises(ValueError, match="unknown media 'film'"): index_audio([crema_av_root], media='film')

@given(st.sampled_from(['01', '02']), st.integers(1, 8), st.integers(1, 2), st.integers(1, 2), st.integers(1, 2), st.integers(1, 24))
def test_ravdess_video_names_property(mod, emo, inten, stmt, rep, actor):
    fields = f'01-{emo:02d}-{inten:02d}-{stmt:02d}-{rep:02d}-{actor:02d}'
    audio = parse_ravdess(Path(f'Actor_{actor:02d}/03-{fields}.wav'))
    video = parse_ravdess(Path(f'Video_Speech_Actor_{actor:02d}/Actor_{actor:02d}/{mod}-{fields}.mp4'))
    assert {k: v for k, v in video.items() if k not in ('clip_id', 'modality')} == {k: v for k, v in audio.items() if k not in ('clip_id', 'modality')}
    assert (audio['modality'], video['modality']) == ('audio', {'01': 'audio+video', '02': 'video'}[mod])
