# emotion_nbdev: `make demo` runs the main job, `make test` runs every check. Both create .venv when missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 7860
# Your own datasets for the demo (space-separated folders/files); empty: the embedded synthetic data
DATA ?=
FACE_DATA ?=
TRAIN_ON = $(if $(DATA),--audio-data $(DATA)) $(if $(FACE_DATA),--face-data $(FACE_DATA))
export GRADIO_ANALYTICS_ENABLED ?= False
# JupyterLab's news prompt asks to reach the internet on every first start: its plugin is off in this venv
LAB_OFF := @jupyterlab/apputils-extension:announcements

.PHONY: demo models test docs lab export readme corpus constraints system-deps check-sync nbtest pytest outputs clean help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# The runtime set (what `make demo` and `make models` and the Docker image need): the package and its dependencies.
$(RUNTIME): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2]==(3,11) else "emotion_nbdev pins its dependencies for Python 3.11; set PYTHON=python3.11")'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e .
	@# librosa's numba kernels are compiled and cached once here: parallel first compiles can corrupt the cache
	$(BIN)/python -c "from emotion_nbdev.features import compile_numba_kernels; compile_numba_kernels()"
	touch $(RUNTIME)

# The dev set on top (what `make test`, docs and notebooks need): notebooks, tests, docs site, browser tests.
$(STAMP): $(RUNTIME)
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	$(BIN)/jupyter labextension disable --level=sys_prefix "$(LAB_OFF)"
	touch $(STAMP)

demo: $(RUNTIME) ## set up and serve the demo + API at http://$(HOST):$(PORT)/ (trains the models on the embedded data, or on DATA="..." FACE_DATA="...", on first run)
	$(BIN)/emotion-nbdev serve --host $(HOST) --port $(PORT) $(TRAIN_ON)

models: $(RUNTIME) ## set up and train the demo's models (embedded data, or DATA="..." FACE_DATA="...") when missing; print their cards
	$(BIN)/emotion-nbdev demo-models --quiet $(TRAIN_ON)

system-deps: ## install Debian packages the tests need (chromium, espeak-ng, flite) when missing
	@bash tools/system-deps.sh

check-sync: $(STAMP) ## fail when the package or README is out of step with the notebooks, or notebooks are not clean
	$(BIN)/python tools/check_sync.py

nbtest: $(STAMP) ## run every notebook top to bottom, skipping the cells marked slow (make test runs those too)
	cd nbs && ../$(BIN)/nbdev-test --n-workers 2

pytest: $(STAMP) system-deps ## run tests/
	$(BIN)/python -m pytest -n 2 --dist loadfile tests

test: $(STAMP) system-deps ## set up and run every check: sync, then notebooks (their slow cells too) beside pytest, demo models trained once
	bash tools/test_all.sh

docs: $(STAMP) ## build the docs site into _docs/ (quarto if on PATH, else smalldocs)
	$(BIN)/python tools/build_docs.py

lab: $(STAMP) ## open the notebooks in JupyterLab
	$(BIN)/jupyter lab nbs $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

export: $(STAMP) ## notebooks -> package, then README from index.ipynb
	$(BIN)/nbdev-export
	$(BIN)/python tools/readme.py

readme: $(STAMP) ## README.md from nbs/index.ipynb
	$(BIN)/python tools/readme.py

outputs: $(STAMP) ## execute every notebook and save its outputs (what the docs show), then clean
	cd nbs && ../$(BIN)/nbdev-test --n-workers 2 --save --flags slow
	$(BIN)/nbdev-clean
	$(BIN)/python tools/readme.py

corpus: $(STAMP) ## regenerate the embedded synthetic speech corpus (needs espeak-ng and flite)
	$(BIN)/python tools/make_speech_corpus.py

constraints: ## re-resolve every dependency from pyproject.toml into constraints.txt (in a throw-away venv)
	rm -rf /tmp/emotion_nbdev_resolve && $(PYTHON) -m venv /tmp/emotion_nbdev_resolve
	/tmp/emotion_nbdev_resolve/bin/pip install --quiet -e ".[dev]"
	{ sed -n '1,3p' constraints.txt; /tmp/emotion_nbdev_resolve/bin/pip freeze --exclude-editable | grep -vi '^emotion'; } > constraints.new && mv constraints.new constraints.txt

clean: ## remove the venv, build outputs and caches
	rm -rf $(VENV) _proc _docs artifacts build dist *.egg-info .pytest_cache .hypothesis
	find . -name __pycache__ -prune -exec rm -rf {} +
