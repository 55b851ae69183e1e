"""`emotion-nbdev download` and `fetch_dataset` against servers on 127.0.0.1: the whole path, no second fetch, wrong hashes,
cut transfers (a server that resumes and one that ignores Range), --from, no route, --list, account-only datasets, per-file
registries (CREMA-D, Dataverse) and --audio-data NAME. Nothing here touches the internet."""
import contextlib, hashlib, io, json, time
from dataclasses import replace
from pathlib import Path
import pytest
from conftest import write_tone
from emotion_nbdev.audio_data import index_audio
from emotion_nbdev.cli import build_parser, main, _training_data, CliError
from emotion_nbdev.datasets import (DATASETS, ChecksumError, LoopbackServer, fetch_dataset, ravdess_standin, write_file_registry,
                                    file_list_sha256, dataverse_files)

ZIP = 'Audio_Speech_Actors_01-24.zip'
UNPACKED = Path('ravdess')/'Audio_Speech_Actors_01-24'

def md5(path): return hashlib.md5(Path(path).read_bytes()).hexdigest()
def sha256(path): return hashlib.sha256(Path(path).read_bytes()).hexdigest()

def cli(*args):
    "Run the command in-process: (status, stdout, stderr)."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): status = main([str(a) for a in args])
    return status, out.getvalue(), err.getvalue()

@pytest.fixture
def standin(tmp_path):
    "The synthetic RAVDESS stand-in (32 tones in RAVDESS's layout), in the folder a server serves."
    (tmp_path/'server').mkdir()
    return ravdess_standin(tmp_path/'server'/ZIP)

@pytest.fixture
def point(monkeypatch, standin):
    "Point the RAVDESS entry at a server's copy of the stand-in, with the stand-in's MD5 (undone after the test)."
    return lambda url: monkeypatch.setitem(DATASETS, 'ravdess', replace(DATASETS['ravdess'], url=url + ZIP, hash=f'md5:{md5(standin)}'))

def test_download_then_index_then_not_again(tmp_path, point):
    with LoopbackServer(tmp_path/'server') as server:
        point(server.url)
        status, out, err = cli('download', 'ravdess', '--to', tmp_path/'data', '-q')
        assert status == 0, err
        lines = out.splitlines()
        assert lines[-1] == str(tmp_path/'data'/UNPACKED)
        licence, fetching = lines.index('licence: CC BY-NC-SA 4.0'), next(i for i, l in enumerate(lines) if l.startswith('fetching'))
        assert licence < fetching and any('Livingstone SR, Russo FA (2018)' in l for l in lines[:fetching])
        manifest = index_audio(lines[-1]).manifest
        assert (len(manifest), manifest['speaker'].nunique(), set(manifest['dataset'])) == (32, 2, {'ravdess'})
        status, out, _ = cli('download', 'ravdess', '--to', tmp_path/'data', '-q')
        assert status == 0 and 'already here and verified, not fetched again' in out and out.splitlines()[-1] == lines[-1]
        assert server.requests == [(ZIP, None)]  # one request for the two runs

def test_wrong_hash_names_both_and_unpacks_nothing(tmp_path, point, standin):
    with LoopbackServer(tmp_path/'server') as server:
        point(server.url)
        status, _, err = cli('download', 'ravdess', '--to', tmp_path/'data', '--md5', '0'*32, '-q')
    assert status == 2 and err.startswith('emotion-nbdev download: error: ')
    assert f'expected md5:{"0"*32}, got md5:{md5(standin)}' in err and server.url + ZIP in err
    assert list((tmp_path/'data').rglob('*')) == [tmp_path/'data'/'ravdess']  # no archive, no part, nothing unpacked

@pytest.mark.parametrize('ranges', [True, False], ids=['resumes', 'ignores-range'])
def test_cut_transfer_then_next_run_completes(tmp_path, point, standin, ranges):
    with LoopbackServer(tmp_path/'server', ranges=ranges, cut=1) as server:
        point(server.url)
        status, _, err = cli('download', 'ravdess', '--to', tmp_path/'data', '-q')
        assert status == 2 and 'cut short at' in err and 'Run the same command again to resume' in err, err
        assert not (tmp_path/'data'/UNPACKED).exists() and not (tmp_path/'data'/'ravdess'/ZIP).exists()
        part = (tmp_path/'data'/'ravdess'/f'{ZIP}.part').stat().st_size
        assert 0 < part < standin.stat().st_size
        status, out, err = cli('download', 'ravdess', '--to', tmp_path/'data', '-q')
    assert status == 0, err
    assert server.requests == [(ZIP, None), (ZIP, f'bytes={part}-')]
    assert (f'resuming at byte {part:,}' if ranges else 'starting again (the server ignores Range requests)') in out
    assert md5(tmp_path/'data'/'ravdess'/ZIP) == md5(standin) and len(list((tmp_path/'data'/UNPACKED).rglob('*.wav'))) == 32

def test_from_file_and_from_url(tmp_path, point, standin):
    with LoopbackServer(tmp_path/'server') as closed: pass
    point(closed.url)  # the registry's source is unreachable: only --from can work
    status, out, err = cli('download', 'ravdess', '--to', tmp_path/'a', '--from', standin, '-q')
    assert status == 0 and 'copying' in out and out.splitlines()[-1] == str(tmp_path/'a'/UNPACKED), err
    other = ravdess_standin(tmp_path/'server'/'other.zip', actors=(3,))  # another packing: the registry's MD5 cannot fit
    with LoopbackServer(tmp_path/'server') as mirror:
        status, _, err = cli('download', 'ravdess', '--to', tmp_path/'b', '--from', mirror.url + 'other.zip', '-q')
        assert status == 2 and f'got md5:{md5(other)}' in err and not (tmp_path/'b'/UNPACKED).exists()
        status, out, err = cli('download', 'ravdess', '--to', tmp_path/'b', '--from', mirror.url + 'other.zip', '--sha256', sha256(other), '-q')
    assert status == 0, err
    assert set(index_audio(out.splitlines()[-1]).manifest['speaker']) == {'03'}
    status, _, err = cli('download', 'ravdess', '--to', tmp_path/'c', '--from', tmp_path/'missing.zip', '-q')
    assert status == 2 and 'missing.zip: no such file' in err

def test_no_route_gives_up_fast_with_url_and_from_hint(tmp_path, point):
    with LoopbackServer(tmp_path/'server') as closed: pass
    point(closed.url)
    start = time.monotonic()
    status, _, err = cli('download', 'ravdess', '--to', tmp_path/'data', '-q')
    assert time.monotonic() - start < 60
    assert status == 2 and closed.url + ZIP in err and 'no answer' in err and 'download ravdess --from FILE' in err, err

def test_list_and_account_only_datasets():
    status, out, _ = cli('download', '--list')
    assert status == 0
    assert [l.split()[0] for l in out.splitlines() if not l.startswith(' ')] == ['ravdess', 'crema-d', 'tess', 'savee', 'fer2013', 'ck+']
    assert 'CC BY-NC-SA 4.0' in out and 'https://zenodo.org/records/1188976' in out and '208.5 MB' in out
    status, out, err = cli('download', 'savee')
    assert status == 2 and out == '' and 'needs a form' in err and 'http://kahlan.eps.surrey.ac.uk/savee/' in err
    status, _, err = cli('download', 'fer2013')
    assert status == 2 and 'needs an account' in err and 'kaggle.com' in err
    status, _, err = cli('download')
    assert status == 2 and '--list' in err
    status, _, err = cli('download', 'iemocap')
    assert status == 2 and 'unknown dataset' in err and 'ravdess, crema-d, tess' in err

def test_help_explains_every_option():
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit): main(['download', '--help'])
    for o in ('NAME', '--list', '--to', '--from', '--sha256', '--md5', '--quiet'): assert o in out.getvalue()

def test_audio_data_name_resolves_through_the_registry(tmp_path, point, monkeypatch):
    monkeypatch.setenv('EMOTION_DATA_DIR', str(tmp_path/'data'))
    monkeypatch.chdir(tmp_path)
    parse = lambda *a: build_parser().parse_args(['demo-models', '--audio-data', *a, '-q'])
    with LoopbackServer(tmp_path/'server') as server:
        point(server.url)
        with contextlib.redirect_stdout(io.StringIO()): data = _training_data(parse('RAVDESS'))
        assert data.audio == [str(tmp_path/'data'/UNPACKED)] and len(server.requests) == 1
        (tmp_path/'ravdess').mkdir()  # a folder of that name exists: it wins, nothing is fetched
        assert _training_data(parse('ravdess')).audio == ['ravdess'] and len(server.requests) == 1
    with pytest.raises(CliError, match='--audio-data savee: savee .* needs a form'): _training_data(parse('savee'))

def test_per_file_registry_counts_failures_and_fetches_only_the_rest(tmp_path, monkeypatch):
    "CREMA-D's kind: every file checked against its own SHA-256; a bad file is counted, the others stay; the next run fetches the rest."
    srv = tmp_path/'server'
    names = ['AudioWAV/1001_DFA_ANG_XX.wav', 'AudioWAV/1001_IEO_HAP_HI.wav', 'AudioWAV/1002_TSI_DIS_XX.wav']
    for i, n in enumerate(names): write_tone(srv/n, 16000, freq=200 + 50*i)
    (srv/'VideoDemographics.csv').write_text('ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n1002,21,Female,Asian,Not Hispanic\n')
    entries = [(n, sha256(srv/n), (srv/n).stat().st_size, None) for n in names + ['VideoDemographics.csv']]
    good = (srv/names[2]).read_bytes()
    (srv/names[2]).write_bytes(good[:-10] + b'x'*10)  # the server holds a corrupt copy of one file
    registry = write_file_registry(entries, tmp_path/'crema.txt.gz', 'test registry')
    with LoopbackServer(srv) as server:
        monkeypatch.setitem(DATASETS, 'crema-d', replace(DATASETS['crema-d'], url=server.url, file=str(registry)))
        status, out, err = cli('download', 'crema-d', '--to', tmp_path/'data', '-q')
        assert status == 2 and '1 of 4 files could not be fetched or checked' in err and names[2] in err and 'checksum mismatch' in err
        assert '3 of 4 files here and verified (3 fetched now, 0 already here)' in out and not (tmp_path/'data'/'crema-d'/names[2]).exists()
        (srv/names[2]).write_bytes(good)
        status, out, err = cli('download', 'crema-d', '--to', tmp_path/'data', '-q')
        assert status == 0 and '4 of 4 files here and verified (1 fetched now, 3 already here)' in out, err
        assert sorted(r[0] for r in server.requests).count(names[2]) == 2 and len(server.requests) == 5
    m = index_audio(out.splitlines()[-1]).manifest
    assert (len(m), set(m['dataset']), dict(zip(m['speaker'], m['sex']))) == (3, {'crema-d'}, {'1001': 'male', '1002': 'female'})

def test_dataverse_listing_with_md5_per_file(tmp_path, monkeypatch):
    "TESS's kind: the server's file list with an MD5 per file; its SHA-256 printed for pinning, and checked when given."
    srv = tmp_path/'server'
    files = [('OAF_angry', 'OAF_back_angry.wav', 11), ('YAF_sad', 'YAF_bath_sad.wav', 12)]
    listing = []
    for folder, name, fid in files:
        (srv/'api'/'access'/'datafile').mkdir(parents=True, exist_ok=True)
        p = write_tone(tmp_path/name, 24414).rename(srv/'api'/'access'/'datafile'/str(fid))  # served under its id, as Dataverse does
        listing.append({'directoryLabel': folder, 'restricted': False,
                        'dataFile': {'id': fid, 'filename': name, 'filesize': p.stat().st_size, 'checksum': {'type': 'MD5', 'value': md5(p)}}})
    meta = srv/'api'/'datasets'/':persistentId'/'index.json'
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({'status': 'OK', 'data': {'latestVersion': {'files': listing}}}))
    with LoopbackServer(srv) as server:
        monkeypatch.setitem(DATASETS, 'tess', replace(DATASETS['tess'], url=server.url.rstrip('/')))
        digest = file_list_sha256(dataverse_files(server.url, DATASETS['tess'].file))
        status, _, err = cli('download', 'tess', '--to', tmp_path/'data', '--sha256', 'f'*64, '-q')
        assert status == 2 and f'got sha256:{digest}' in err and 'the file list of doi:10.5683/SP2/E8H2MF' in err
        status, out, err = cli('download', 'tess', '--to', tmp_path/'data', '--sha256', digest, '-q')
    assert status == 0 and f'sha256 of that list: {digest}' in out, err
    m = index_audio(out.splitlines()[-1]).manifest
    assert sorted(m['clip_id']) == ['OAF_back_angry', 'YAF_bath_sad'] and set(m['dataset']) == {'tess'}

def test_archive_without_published_hash_is_pinned_or_refused(tmp_path):
    "TESS given as your own 'download all' zip: no published hash, so its SHA-256 is printed for pinning, checked when given; a non-zip is refused."
    import zipfile
    own = tmp_path/'tess-download.zip'
    with zipfile.ZipFile(own, 'w') as z:
        for n in ('OAF_angry/OAF_back_angry.wav', 'YAF_sad/YAF_bath_sad.wav'): z.write(write_tone(tmp_path/'src'/n, 24414), n)
    status, out, err = cli('download', 'tess', '--to', tmp_path/'data', '--from', own, '-q')
    assert status == 0 and f'no published hash to check; its sha256 is {sha256(own)}' in out, err
    assert len(index_audio(out.splitlines()[-1]).manifest) == 2
    status, _, err = cli('download', 'tess', '--to', tmp_path/'data', '--from', own, '--sha256', '0'*64, '-q')
    assert status == 2 and f'expected sha256:{"0"*64}, got sha256:{sha256(own)}' in err
    (tmp_path/'page.zip').write_text('<html>Sign in</html>')
    status, _, err = cli('download', 'tess', '--to', tmp_path/'other', '--from', tmp_path/'page.zip', '-q')
    assert status == 2 and 'page.zip: not a zip archive, so nothing was unpacked' in err
    assert not (tmp_path/'other'/'tess'/'TESS.zip').exists() and not (tmp_path/'other'/'tess'/'TESS').exists()
