#!/usr/bin/env bash
# Every check of `make test`: the sync check, then every notebook (slow cells too) and the tests side by side,
# so that both cores stay busy until the end. The demo's models are trained once, by whichever comes first,
# into a temporary folder that the notebooks and the tests share (its lock makes the others wait and load them).
# Each phase prints a `[make test] phase NAME: N s` line (bench/bench_ci.py reads them); the output ends with pytest's
# summary line, repeated after the notebooks' log.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/.venv/bin
NB_WORKERS=${NB_WORKERS:-2}
PYTEST_WORKERS=${PYTEST_WORKERS:-2}
work=$(mktemp -d -t emotion-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/models"
export EMOTION_MODELS_DIR="$work/models" EMOTION_TEST_MODELS_DIR="$work/models"

now() { date +%s; }
phase() { echo "[make test] phase $1: $(( $(now) - $2 )) s"; }

t=$(now)
"$BIN/python" tools/check_sync.py || { echo '[make test] the sync check failed: nothing else was run'; exit 1; }
phase check_sync "$t"

# the notebooks in the background, their log printed when they end; the tests in the foreground.
# Side by side, each process gets about half the CPU it would get alone, so a cell may take twice as long: the
# cell time limit (a guard against hangs; `cell_timeout` in pyproject.toml) is doubled for this run.
t=$(now)
cell_timeout=$(( 2*$("$BIN/python" -c "import tomllib; print(tomllib.load(open('pyproject.toml','rb'))['tool']['nbdev']['cell_timeout'])") ))
( cd nbs && "$BIN/nbdev-test" --n-workers "$NB_WORKERS" --flags slow --timing --cell-timeout "$cell_timeout" >"$work/notebooks.log" 2>&1
  echo $? >"$work/notebooks.rc"; phase notebooks "$t" >"$work/notebooks.time" ) &
nb_pid=$!
"$BIN/python" -m pytest -n "$PYTEST_WORKERS" --dist loadfile --durations=15 tests 2>&1 | tee "$work/pytest.log"
py_rc=${PIPESTATUS[0]}
phase pytest "$t"
wait "$nb_pid"
nb_rc=$(cat "$work/notebooks.rc" 2>/dev/null || echo 1)
echo '[make test] notebooks (nbdev-test --flags slow):'
cat "$work/notebooks.log"
cat "$work/notebooks.time" 2>/dev/null
phase notebooks+pytest "$t"
[ "$nb_rc" -eq 0 ] || echo "[make test] notebooks FAILED (nbdev-test exit status $nb_rc)"
[ "$py_rc" -eq 0 ] || echo "[make test] pytest FAILED (exit status $py_rc)"
tail -n 1 "$work/pytest.log"  # the last line is pytest's summary, again
[ "$nb_rc" -eq 0 ] && [ "$py_rc" -eq 0 ]
