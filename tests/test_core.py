"Core helpers every chapter shares: hidden/system files, the data tag, file checksums, library versions, and that the loaders use them."
import hashlib
import numpy as np
import pandas as pd
import pytest
from emotion_nbdev.core import SYSTEM_FILE_NAMES, SkipReport, data_tag, file_sha256, is_hidden_or_system, library_versions

LITTER = ['._clip.wav', '.DS_Store', 'Thumbs.db', 'DESKTOP.INI', '__MACOSX/angry/a.png', '.cache/angry/b.png', 'angry/.hidden.png']

@pytest.mark.parametrize('name', LITTER)
def test_hidden_or_system(tmp_path, name):
    assert is_hidden_or_system(tmp_path/name, tmp_path)

@pytest.mark.parametrize('name', ['angry/a.png', '1001_DFA_ANG_XX.wav', 'MACOSX/a.png', 'thumbs.db.png'])
def test_not_hidden_or_system(tmp_path, name):
    assert not is_hidden_or_system(tmp_path/name, tmp_path)

def test_system_names_lower_case():
    assert all(n == n.lower() for n in SYSTEM_FILE_NAMES)

def _tree(root):
    for n in LITTER + ['angry/ok.png']:
        (root/n).parent.mkdir(parents=True, exist_ok=True); (root/n).write_bytes(b'x')
    return root

def test_every_folder_walk_skips_the_same_files(tmp_path):
    "The audio, face-data and CNN walkers name the same files 'hidden or system file'."
    from emotion_nbdev.audio_data import skip_reason_for_file
    from emotion_nbdev.face_data import _image_files
    from emotion_nbdev.cnn import _labelled_files
    root = _tree(tmp_path)
    expected = {str(root/n) for n in LITTER}
    audio = {str(p) for p in root.rglob('*') if p.is_file() and skip_reason_for_file(p, root) == 'hidden or system file'}
    face, cnn = SkipReport(), SkipReport()
    list(_image_files([root], face)); list(_labelled_files(root, cnn))
    assert audio == expected
    for rep in (face, cnn): assert {p for p, r in rep if r == 'hidden or system file'} == expected

@pytest.mark.parametrize('flags, tag', [(True, 'synthetic data'), (False, 'real data'), (np.bool_(True), 'synthetic data'),
                                        (pd.Series([True, True]), 'synthetic data'), (pd.Series([False]), 'real data'),
                                        (np.array([True, False]), 'real + synthetic data'), ([0, 1, 1], 'real + synthetic data')])
def test_data_tag(flags, tag):
    assert data_tag(flags) == tag

def test_file_sha256_many_blocks(tmp_path):
    data = np.random.default_rng(0).bytes(3 << 20)  # several read blocks
    (tmp_path/'f.bin').write_bytes(data)
    assert file_sha256(tmp_path/'f.bin') == hashlib.sha256(data).hexdigest()
    with pytest.raises(FileNotFoundError): file_sha256(tmp_path/'missing.bin')

def test_library_versions_extra():
    base = library_versions()
    assert {'python', 'numpy', 'scikit-learn', 'emotion_nbdev'} <= set(base)
    more = library_versions(('keras', 'no-such-distribution'))
    assert more['keras'].startswith('3.') and 'no-such-distribution' not in more and base.items() <= more.items()
