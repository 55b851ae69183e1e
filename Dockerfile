# emotion_nbdev demo image. Its steps are the README's tested path: the same Makefile creates the venv and
# installs the runtime set only (`make models` = `pip install -c constraints.txt -e .`, no dev extras, then train
# the demo models on the embedded synthetic data, at build time), and the container runs `make demo`
# (= `emotion-nbdev serve`) on every interface. tests/test_project.py dry-runs these targets.
FROM python:3.11.7-slim-bookworm

ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 GRADIO_ANALYTICS_ENABLED=False PYTHON=python3
RUN apt-get update && apt-get install -y --no-install-recommends make libsndfile1 \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 app
WORKDIR /home/app/emotion_nbdev
COPY --chown=app:app . .
USER app

# install and train once, so the container serves at once (models in ~/.cache/emotion_nbdev/models)
RUN make models

EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD .venv/bin/python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:7860/api/health', timeout=4).status != 200)"
CMD ["make", "demo", "HOST=0.0.0.0", "PORT=7860"]
