# One image for every careline process (docker-compose.yml picks the subcommand).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Only what the package is built from (no .venv, .careline or caches in the image).
COPY pyproject.toml README.md ./
COPY careline/ careline/
COPY ingest/ ingest/
COPY devices/ devices/
COPY crm_core/ crm_core/
COPY alerts/ alerts/
COPY simulators/ simulators/
RUN pip install . && rm -rf /src/build

RUN useradd --system --create-home --home-dir /var/lib/careline careline
USER careline
WORKDIR /var/lib/careline
ENV CARELINE_DATA_DIR=/var/lib/careline

ENTRYPOINT []
CMD ["careline", "--help"]
