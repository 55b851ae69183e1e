"""How long the whole CI takes on a clean clone, phase by phase, and under what load.

A run clones the repository (`git clone -q`, at `--ref` when given) into a fresh folder and runs, with `CI=true` and a
fresh `$EMOTION_CACHE_DIR`, either
- `--layout ci` (default): `bash .ci/run` as CI does; its phases come from the `[ci] phase NAME: N s` and
  `[make test] phase NAME: N s` lines it prints (apt, install, check_sync, then notebooks beside pytest), or
- `--layout serial`: the steps of the serial `make test` (sync check, then `nbdev-test --n-workers 2 --flags slow`,
  then `pytest tests` on one process), each timed here, after the same apt step and install (for a commit whose
  `.ci/run` prints no phases).
The apt step is quick when the packages are already installed; pip installs from the local cache.
The load average (1 min) is read at the start and at the end: the machine's two cores may be shared with other work,
which makes every phase longer than on an idle machine.
Usage: python bench/bench_ci.py [--layout ci|serial] [--ref COMMIT] [--clone /tmp/cicheck] [--markdown bench/RESULTS_ci.md]
"""
import argparse, datetime, os, platform, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHASE = re.compile(r'^\[(?:ci|make test)\] phase ([\w+-]+): (\d+) s$')
COLUMNS = ['apt', 'install', 'check_sync', 'notebooks', 'pytest', 'notebooks+pytest', 'total']

def load1()->float: return round(os.getloadavg()[0], 1)

def run_logged(cmd:list, cwd:Path, env:dict, log)->tuple[int, float, str]:
    "Run `cmd`, copying its output to `log` as it comes; exit status, wall seconds and the output."
    t0, out = time.perf_counter(), []
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as p:
        for line in p.stdout:
            out.append(line); log.write(line); log.flush()
    return p.returncode, time.perf_counter() - t0, ''.join(out)

def phases_from(output:str)->dict:
    "Seconds of every phase a CI run printed."
    return {m.group(1): int(m.group(2)) for m in map(PHASE.match, output.splitlines()) if m}

def summary(output:str)->str:
    "pytest's last summary line (passed, skipped, failed counts and its time)."
    lines = [l.strip('= \n') for l in output.splitlines() if re.match(r'^=+ .*(passed|failed|error).* in [\d.]+s', l)]
    return lines[-1] if lines else 'no pytest summary'

def serial_run(clone:Path, env:dict, log)->tuple[int, dict, str]:
    "The serial layout: apt and install as `.ci/run` does, then the sync check, the notebooks and pytest one after the other."
    bin_ = clone/'.venv'/'bin'
    steps = [('apt', ['bash', '-c', 'sed -n "/^if \\[/,/^fi/p" .ci/run | bash']),
             ('install', ['make', '.venv/.installed', 'system-deps']),
             ('check_sync', [str(bin_/'python'), 'tools/check_sync.py']),
             ('notebooks', ['bash', '-c', 'cd nbs && ../.venv/bin/nbdev-test --n-workers 2 --flags slow']),
             ('pytest', [str(bin_/'python'), '-m', 'pytest', '-p', 'no:xdist', 'tests'])]
    phases, outs, rc = {}, [], 0
    for name, cmd in steps:
        rc, secs, out = run_logged(cmd, clone, env, log)
        phases[name] = round(secs); outs.append(out)
        if rc: break
    return rc, phases, ''.join(outs)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--layout', choices=['ci', 'serial'], default='ci')
    ap.add_argument('--ref', help='commit to clone (default: the current HEAD)')
    ap.add_argument('--clone', default='/tmp/cicheck', help='folder for the clean clone (removed first)')
    ap.add_argument('--markdown', help='add a row to the runs table of this results file')
    ap.add_argument('--log', help='write the whole CI output here (default: a temporary file)')
    a = ap.parse_args()
    clone = Path(a.clone)
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(['git', 'clone', '-q', str(ROOT), str(clone)], check=True)
    if a.ref: subprocess.run(['git', '-C', str(clone), 'checkout', '-q', a.ref], check=True)
    commit = subprocess.run(['git', '-C', str(clone), 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()
    cache = tempfile.mkdtemp(prefix='emotion-ci-cache-')
    env = {**os.environ, 'CI': 'true', 'EMOTION_CACHE_DIR': cache}
    log_path = Path(a.log or tempfile.mkstemp(prefix='ci-', suffix='.log')[1])
    start_load, when = load1(), datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    with open(log_path, 'w') as log:
        if a.layout == 'ci':
            rc, _, out = run_logged(['bash', '.ci/run'], clone, env, log)
            phases = phases_from(out)
        else:
            rc, phases, out = serial_run(clone, env, log)
    phases['total'] = round(time.perf_counter() - t0)
    end_load = load1()
    shutil.rmtree(cache, ignore_errors=True)
    result = ('passed' if rc == 0 else f'FAILED (exit {rc})') + f'; pytest: {summary(out)}'
    row = (f"| {a.layout} | {commit} | {when:%Y-%m-%d %H:%M} UTC | {start_load} | {end_load} | "
           + ' | '.join(str(phases.get(c, '')) for c in COLUMNS) + f' | {result} |')
    print('phases (s):', phases, '\nload average (1 min) at start/end:', start_load, end_load, '\nlog:', log_path)
    print(row)
    if a.markdown:
        md = Path(a.markdown)
        if not md.exists():
            md.write_text('# Clean-clone CI, phase by phase\n\n'
                          'Command: `python bench/bench_ci.py --layout LAYOUT [--ref COMMIT] --markdown bench/RESULTS_ci.md` '
                          f'(see its docstring). Machine: {platform.machine()}, {os.cpu_count()} cores. Wall-clock seconds; '
                          '`notebooks` and `pytest` overlap in the `ci` layout (each is timed from the same start), so '
                          '`notebooks+pytest` is their span together; in the `serial` layout they run one after the other. '
                          'Load average (1 min) at the start and the end of each run: above the core count, the machine '
                          'was shared with other work and every phase took longer.\n\n'
                          '| layout | commit | date | load start | load end | ' + ' | '.join(COLUMNS) + ' | result |\n'
                          '|' + '---|'*(len(COLUMNS) + 6) + '\n')
        lines = md.read_text().splitlines()
        last = max(i for i, l in enumerate(lines) if l.startswith('| '))  # the runs table's last row: the new one goes under it
        md.write_text('\n'.join([*lines[:last + 1], row, *lines[last + 1:]]) + '\n')
    sys.exit(rc)

if __name__ == '__main__': main()
