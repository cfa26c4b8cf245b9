FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 TROLY_DATABASE_URL=sqlite:////data/troly.db
WORKDIR /app
COPY pyproject.toml README.md main.py webhooks.py ./
COPY bot ./bot
COPY handlers ./handlers
COPY knowledge ./knowledge
COPY admin ./admin
RUN pip install --no-cache-dir ".[postgres]" \
    && useradd --create-home --uid 10001 troly \
    && mkdir -p /data && chown troly /data
USER troly
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["troly", "serve", "--host", "0.0.0.0", "--port", "8000"]
