# paperkg image: the `paperkg` CLI, the API (gunicorn) and the scheduler. Used by docker-compose.yml.

# Stage 1: the web UI's vendored JavaScript (cytoscape), as `make node` does locally.
FROM node:20-slim AS vendor
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error \
    && mkdir -p vendor && cp node_modules/cytoscape/dist/cytoscape.min.js vendor/

# Stage 2: Python.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    PAPERKG_DATA_DIR=/data
WORKDIR /app
# torch first, from the CPU wheel index: the default index would pull a multi-GB CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
# Dependencies in their own layer, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p kg ingest api && touch kg/__init__.py ingest/__init__.py api/__init__.py \
    && pip install . && pip uninstall -y paperkg
COPY kg ./kg
COPY ingest ./ingest
COPY api ./api
COPY --from=vendor /build/vendor ./api/static/vendor
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 paperkg \
    && mkdir -p /data && chown paperkg /data
USER paperkg
VOLUME /data
EXPOSE 8000
# The serving settings (threaded workers, worker timeout) are api/gunicorn_conf.py's. Every interface of
# the container: published ports reach it through its own network interface, not its loopback.
CMD ["gunicorn", "-c", "python:api.gunicorn_conf", "-b", "0.0.0.0:8000", "api.wsgi:app"]
