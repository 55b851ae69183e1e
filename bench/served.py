"""What the benchmarks that time the demo server share: a free local port, a server process waited on until
`GET /api/health` answers, and concurrent clients posting an audio clip. Imported by the `bench/bench_*.py` scripts
(run as `python bench/NAME.py`, which puts this folder on the import path)."""
import os, socket, subprocess, time
from concurrent.futures import ThreadPoolExecutor

def free_port()->int:
    "A TCP port on 127.0.0.1 that nothing listens on right now."
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def start_served(cmd:list, port:int, env:dict|None=None)->tuple:
    "Run `cmd`, a server on `port` (its output discarded); (process, url) once its /api/health answers 200."
    import httpx
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env={**os.environ, 'GRADIO_ANALYTICS_ENABLED': 'False', **(env or {})})
    url = f'http://127.0.0.1:{port}'
    for _ in range(1200):
        if p.poll() is not None: raise SystemExit(f'server exited with status {p.returncode}: {" ".join(map(str, cmd))}')
        try:
            if httpx.get(url + '/api/health', timeout=1).status_code == 200: return p, url
        except httpx.HTTPError: time.sleep(0.5)
    p.kill(); raise SystemExit(f'server did not start: {" ".join(map(str, cmd))}')

def audio_requests(url:str, clip:bytes, clients:int, per_client:int)->list:
    "Milliseconds of each `POST /api/audio` of `clip` from `clients` concurrent httpx clients, `per_client` requests each, one after another."
    import httpx
    def client(_):
        out = []
        with httpx.Client(timeout=120) as c:
            for _ in range(per_client):
                t = time.perf_counter()
                r = c.post(url + '/api/audio', files={'file': ('clip.wav', clip)})
                out.append(1000*(time.perf_counter() - t))
                if r.status_code != 200: raise SystemExit(f'{url}: status {r.status_code}: {r.text[:200]}')
        return out
    with ThreadPoolExecutor(clients) as pool: return [ms for rs in pool.map(client, range(clients)) for ms in rs]
