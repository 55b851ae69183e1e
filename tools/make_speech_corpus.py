"""Regenerate the embedded synthetic speech corpus (emotion_nbdev/data/synthetic_speech).

Needs Debian's espeak-ng and flite. Deterministic: the same seed and tool versions give byte-identical
files (SYNTHETIC.json records both and a sha256 per file). Usage: python tools/make_speech_corpus.py [--seed N]
"""
import argparse
from emotion_nbdev.audio_data import synthesize_speech_corpus, synthetic_speech_dir
from emotion_nbdev.core import SEED

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seed', type=int, default=SEED, help=f'jitter seed (default {SEED})')
    p.add_argument('--out', default=str(synthetic_speech_dir()), help='output folder (default: the package data folder)')
    a = p.parse_args()
    print(synthesize_speech_corpus(a.out, seed=a.seed))
