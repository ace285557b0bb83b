# One image for the API and the indexer (compose.yaml picks the command).
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN useradd --create-home --uid 10001 assetlens
WORKDIR /app

# CPU wheels of the pinned torch/torchvision pair keep the image small; drop the index URL
# for the CUDA build on GPU hosts.
COPY pyproject.toml README.md ./
COPY assetlens ./assetlens
COPY api ./api
COPY indexer ./indexer
COPY embeddings ./embeddings
COPY storage ./storage
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu ".[clip]"

USER assetlens
RUN mkdir -p /home/assetlens/data
ENV ASSETLENS_DATA_DIR=/home/assetlens/data
EXPOSE 8000
CMD ["assetlens", "serve", "--host", "0.0.0.0", "--port", "8000"]
