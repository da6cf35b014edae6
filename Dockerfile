# viva in a container: bundled models, SQLite under /data, no network needed at run time.
# The first stage builds viva's wheel; the image installs that wheel and nothing else of
# the source tree, as `pip install viva-*.whl` would anywhere (tests/test_install.py
# runs these steps in a fresh virtual environment).
FROM python:3.11-slim AS build
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY server ./server
COPY client ./client
COPY questions ./questions
COPY prompts ./prompts
RUN pip install build && python -m build --wheel --outdir /dist .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1
COPY --from=build /dist /dist
RUN pip install /dist/*.whl && rm -r /dist
# Listening beyond loopback exposes recordings: viva refuses to start without a key.
# Run with: docker run -p 8000:8000 -e VIVA_ACCESS_KEY=change-me -v viva-data:/data viva
ENV VIVA_HOST=0.0.0.0 VIVA_PORT=8000 VIVA_DATA_DIR=/data
VOLUME /data
WORKDIR /data
EXPOSE 8000
CMD ["viva", "serve"]
