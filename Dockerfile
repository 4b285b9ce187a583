# One image for every role: the review app (`evidence serve`), a worker (`evidence worker`), the one-off
# migration (`evidence db upgrade`) and any command. compose.yaml puts them together with their services.
FROM python:3.11-slim

# poppler for the sample's PDFs, CJK and Arabic fonts for the scoring charts (the Makefile's SYSTEM_PACKAGES
# less Chromium, which only the browser tests need)
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends poppler-utils fonts-noto-cjk \
       fonts-noto-core \
    && rm -rf /var/lib/apt/lists/*

ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 EVIDENCE_DATA_DIR=/data
WORKDIR /srv/evidence
COPY . .
RUN pip install . && useradd --create-home --uid 1000 evidence && mkdir -p /data && chown evidence /data
USER evidence
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health', timeout=4)" || exit 1
CMD ["evidence", "serve", "--host", "0.0.0.0", "--port", "8000"]
