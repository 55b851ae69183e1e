# emotion_nbdev image. Its steps are the README's tested path (`make demo`): the same Makefile creates the
# venv and installs the pinned package, then runs the main job once at build time as a smoke test.
FROM python:3.11.7-slim-bookworm

ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 GRADIO_ANALYTICS_ENABLED=False PYTHON=python3
RUN apt-get update && apt-get install -y --no-install-recommends make libsndfile1 \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 app
WORKDIR /home/app/emotion_nbdev
COPY --chown=app:app . .
USER app

RUN make demo

CMD ["make", "demo"]
