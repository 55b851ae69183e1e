"""Latency and throughput of the demo server (`emotion-nbdev serve`) over HTTP, as a client sees them.

Starts the real server in a subprocess on a free port (models from the default models folder; trained on the
embedded synthetic data first when missing), then:
- latency per endpoint, one request at a time: a 3.0 s speech clip (16-bit WAV, 16 kHz) to POST /api/audio and a
  640x480 JPEG photo with one face (scikit-image's astronaut) to POST /api/face; the first call of each is
  reported apart (it loads lazily imported code), p50/p95 over the next `--n` calls;
- the load test of the tests: 8 concurrent clients x 25 mixed requests (audio, face, health, a bad file),
  throughput and latency percentiles under load, errors counted;
- the audio endpoint under 8 concurrent clients, beside the reference: a second server started the same way but with
  `Limits(audio_processes=False)` (audio analysed in the server's two threads, as before `AudioPool`), the same models;
  8 clients x 10 requests of the 3 s clip, `--rounds` rounds per server in alternating order, 5 single requests after each.
Usage: python bench/bench_app.py [--n 50] [--rounds 4] [--markdown bench/RESULTS_app.md]
"""
import argparse, io, os, platform, socket, subprocess, sys, time
from pathlib import Path
import httpx
from concurrent.futures import ThreadPoolExecutor
import numpy as np
import soundfile as sf
from PIL import Image
from emotion_nbdev.app import load_test
from served import audio_requests, free_port, start_served

def three_second_clip():
    from emotion_nbdev.audio_data import load_synthetic_speech
    m = load_synthetic_speech().manifest
    parts = [sf.read(p, dtype='float32')[0] for p in m[m.speaker == m.speaker.iloc[0]].path[:6]]
    y = np.concatenate(parts)[:3*16000]
    assert len(y) == 3*16000
    buf = io.BytesIO(); sf.write(buf, y, 16000, format='WAV', subtype='PCM_16'); return buf.getvalue()

def photo_640x480():
    from skimage.data import astronaut
    im = Image.fromarray(astronaut()).resize((640, 640), Image.Resampling.LANCZOS).crop((0, 0, 640, 480))
    buf = io.BytesIO(); im.save(buf, 'JPEG', quality=90); return buf.getvalue()

REFERENCE = 'from emotion_nbdev.app import serve, Limits; serve(port={port}, limits=Limits(audio_processes=False))'
OURS = 'from emotion_nbdev.app import serve, Limits; serve(port={port}, limits=Limits(audio_processes=True))'  # audio in worker processes

def start_server(reference=False):
    "`serve` with audio in worker processes on a free port (the reference: audio in the server's threads, the default); (process, url)."
    port = free_port()
    cmd = [sys.executable, '-c', (REFERENCE if reference else OURS).format(port=port)]
    return start_served(cmd, port)

def pct(ms, q): return float(np.percentile(ms, q))

def audio_under_load(clip, rounds):
    "8 clients x 10 audio requests per round on our server and the reference, rounds in alternating order; 5 single requests after each."
    servers = {'ours': start_server(), 'reference': start_server(reference=True)}
    lat, one = {k: [] for k in servers}, {k: [] for k in servers}
    try:
        for _, url in servers.values(): audio_requests(url, clip, 2, 3)  # warm: first requests on every worker
        for r in range(rounds):
            for k in (('reference', 'ours') if r % 2 == 0 else ('ours', 'reference')):
                lat[k] += audio_requests(servers[k][1], clip, 8, 10)
                one[k] += audio_requests(servers[k][1], clip, 1, 5)
    finally:
        for p, _ in servers.values(): p.terminate(); p.wait(180)
    return {k: dict(n=len(v), p50=pct(v, 50), p95=pct(v, 95), max=max(v), one_p50=pct(one[k], 50)) for k, v in lat.items()}

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=50, help='timed calls per endpoint after the first')
    ap.add_argument('--rounds', type=int, default=4, help='rounds per server of the audio-under-load comparison')
    ap.add_argument('--markdown')
    a = ap.parse_args()
    clip, photo = three_second_clip(), photo_640x480()
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter(); proc, url = start_server(); start_s = time.perf_counter() - t0
    rows = []
    try:
        with httpx.Client(timeout=120) as c:
            for name, path, data in [('audio (3 s clip)', '/api/audio', clip), ('face (640x480 photo)', '/api/face', photo), ('health', '/api/health', None)]:
                times = []
                for i in range(a.n + 1):
                    t = time.perf_counter()
                    r = c.get(url + path) if data is None else c.post(url + path, files={'file': ('x.wav' if 'audio' in path else 'x.jpg', data)})
                    times.append(1000*(time.perf_counter() - t))
                    assert r.status_code == 200, r.text
                rows.append((name, times[0], pct(times[1:], 50), pct(times[1:], 95), max(times[1:])))
        load = load_test(url, clip, photo, clients=8, per_client=25)
    finally:
        proc.terminate(); proc.wait(180)
    load_mid = os.getloadavg()[0]
    audio = audio_under_load(clip, a.rounds)
    load_after = os.getloadavg()[0]
    goal = {'audio (3 s clip)': 100, 'face (640x480 photo)': 250}
    lines = ['# Demo server benchmark', '',
             f'Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; server: `emotion-nbdev serve` (2 workers; audio requests in 2 worker processes), '
             f'client: httpx in another process on the same machine. Models: the demo models; the face endpoint detects each face once and runs all three '
             f'face models on it (FER2013, landmarks, CNN). Speed does not depend on what data the models learned from. '
             f'Server start with models cached: {start_s:.1f} s. Command: `python bench/bench_app.py --n {a.n} --rounds {a.rounds}`. '
             f'Load average (1 min) at the start, between the two parts and at the end: {load_before:.1f}, {load_mid:.1f} and {load_after:.1f}'
             f"{' (other work shared the 2 cores: read the times as upper bounds)' if max(load_before, load_after) > (os.cpu_count() or 2) else ''}.", '',
             '## Latency, one request at a time', '',
             f'| endpoint | first call (ms) | p50 (ms) | p95 (ms) | max (ms) | goal p95 | met |', '|---|---|---|---|---|---|---|']
    for name, first, p50, p95, mx in rows:
        g = goal.get(name)
        lines.append(f'| {name} | {first:.0f} | {p50:.1f} | {p95:.1f} | {mx:.0f} | {f"< {g} ms" if g else "-"} | {("yes" if p95 < g else "no") if g else "-"} |')
    lines += ['', f'p50/p95 over {a.n} calls after the first.', '',
              '## Under load: 8 concurrent clients x 25 mixed requests', '',
              f"{load['requests']} requests in {load['seconds']:.1f} s: **{load['per_second']:.1f} requests/s**, {load['errors']} errors "
              '(`emotion_nbdev.app.load_test`; '
              'mix per client: audio, face, health, a bad audio file answered 422, face).', '',
              '| kind | requests | p50 (ms) | p95 (ms) |', '|---|---|---|---|']
    lines += [f"| {k} | {l['n']} | {l['p50']:.0f} | {l['p95']:.0f} |" for k, l in load['latency_ms'].items()]
    o, ref = audio['ours'], audio['reference']
    lines += ['', '## The audio endpoint under 8 concurrent clients, beside the reference', '',
              f"`POST /api/audio` of the 3 s clip, 8 clients x 10 requests per round, {a.rounds} rounds per server in alternating order "
              "(drifting load falls on both), 5 single requests after each round; both servers started the same way on the same models, "
              "the reference with `Limits(audio_processes=False)`: audio analysed in the server's 2 threads, the way before `AudioPool`. "
              "Clients: httpx threads in the benchmark's process, on the same 2 cores.", '',
              '| server | requests | p50 ms | p95 ms | max ms | p50 ms, one client | goal p95 | met |', '|---|---|---|---|---|---|---|---|']
    for k, name in (('ours', 'ours: audio in 2 worker processes (`AudioPool`)'), ('reference', "reference: audio in the server's 2 threads")):
        s_ = audio[k]
        lines.append(f"| {name} | {s_['n']} | {s_['p50']:.0f} | **{s_['p95']:.0f}** | {s_['max']:.0f} | {s_['one_p50']:.0f} | < 100 ms | {'yes' if s_['p95'] < 100 else 'no'} |")
    lines += ['', f"p95 reference / ours: **{ref['p95']/o['p95']:.2f}x**; p50: {ref['p50']/o['p50']:.2f}x."]
    text = '\n'.join(lines) + '\n'
    print(text)
    if a.markdown: Path(a.markdown).write_text(text)
    if load['errors']: raise SystemExit(f"{load['errors']} requests failed: {load['failures']}")

if __name__ == '__main__': main()
