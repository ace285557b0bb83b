"""Settings from `ASSETLENS_*` environment variables and `.env` (pydantic-settings)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MB = 1024 * 1024


def absolute_dir(path: Path) -> Path:
    """`path` with `~` expanded, made absolute against the current directory."""
    return path.expanduser().absolute()


class StoreBackend(StrEnum):
    LOCAL = "local"
    S3 = "s3"


class IndexBackend(StrEnum):
    EMBEDDED = "embedded"
    ELASTICSEARCH = "elasticsearch"


class EmbeddedSearchEngine(StrEnum):
    """What answers keyword searches in embedded mode (docs/SEARCH.md, "Embedded search
    engine"): a tantivy index derived from the SQLite journal, or SQLite FTS5 alone."""

    TANTIVY = "tantivy"
    SQLITE = "sqlite"


class Settings(BaseSettings):
    """Every knob of Assetlens. Defaults give embedded mode under `./data` (of the directory
    the process starts in, made absolute then: commands print it)."""

    model_config = SettingsConfigDict(
        env_prefix="ASSETLENS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Path("data")
    store_backend: StoreBackend = StoreBackend.LOCAL
    index_backend: IndexBackend = IndexBackend.EMBEDDED
    embedded_search_engine: EmbeddedSearchEngine = EmbeddedSearchEngine.TANTIVY

    # S3 / MinIO
    s3_endpoint: str = "http://127.0.0.1:9000"
    s3_access_key: str = "assetlens"
    s3_secret_key: SecretStr = SecretStr("assetlens-secret")
    s3_bucket: str = "assetlens"
    s3_region: str = "us-east-1"
    # Each request to the store: seconds to connect, and to wait for each read of its answer
    # (a slow store only slows requests; one slower than this is an outage: after bounded
    # retries, 503 with nothing half-written).
    s3_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    s3_read_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)

    # Elasticsearch
    # One node's URL, or several separated by commas (a cluster: requests go round-robin and
    # a node that fails is set aside while the others answer).
    es_url: str = "http://127.0.0.1:9200"
    es_index: str = "assetlens"
    es_api_key: SecretStr | None = None
    es_num_candidates: int = 200

    # Embedded index kNN (indexer/embedded/ann.py): past this many vectors of one
    # (workspace, model), candidates come from a usearch HNSW graph and are rescored
    # exactly; writes made since the graph was built are scanned exactly until this many
    # are folded into it (by whichever process queries first). docs/BENCHMARKS.md.
    embedded_ann_threshold: int = Field(default=100_000, ge=0)
    embedded_ann_fold_after: int = Field(default=20_000, ge=0)

    # CLIP (open_clip). Weights come from the local HF cache or `clip_checkpoint`.
    clip_enabled: bool = True
    clip_model: str = "ViT-B-32"
    clip_pretrained: str = "laion2b_s34b_b79k"
    clip_checkpoint: Path | None = None
    clip_model_config: Path | None = Field(
        default=None, description="JSON model config for a custom/tiny architecture"
    )
    clip_device: str = "cpu"
    clip_batch_size: int = 16
    clip_threads: int = 0
    # torch | onnx | onnx-int8 | auto (what `assetlens models prepare` measured fastest
    # here among the runtimes agreeing with torch; torch until it has run). See
    # embeddings/runtimes.py.
    clip_runtime: Literal["auto", "torch", "onnx", "onnx-int8"] = "auto"
    clip_onnx_dir: Path | None = Field(
        default=None, description="where ONNX exports are kept (default <data_dir>/models/onnx)"
    )

    # Upload limits (bytes) per asset type; DESIGN.md defaults.
    max_image_bytes: int = 10 * MB
    max_audio_bytes: int = 50 * MB
    max_video_bytes: int = 200 * MB
    max_font_bytes: int = 5 * MB
    max_logo_bytes: int = 5 * MB
    max_text_bytes: int = 5 * MB
    max_image_pixels: int = 64_000_000
    max_form_field_bytes: int = 64 * 1024
    max_json_body_bytes: int = 256 * 1024
    # A request body that stops arriving (shorter than its Content-Length, a client gone
    # silent) is answered 408 after this many seconds without a byte, freeing its upload
    # slot and spool file.
    body_idle_timeout_seconds: float = Field(default=30.0, gt=0)
    max_json_depth: int = 16

    # Indexer
    run_indexer_in_process: bool | None = None  # None: yes in embedded mode
    indexer_batch_size: int = 16
    # Processes that analyse (decode, preview, hash) in parallel: 0 = one per core this
    # process may use; 1 = analyse in the indexer's own thread, no pool.
    indexer_workers: int = Field(default=0, ge=0, le=256)
    # Processes that run the upload proof (sniff, pixel proof), so that a file crashing a
    # native decoder refuses that file, not the process: unset = one per core this process
    # may use, at least 2; 0 = in the receiving process (docs/INGEST.md).
    proof_workers: int | None = Field(default=None, ge=0, le=64)
    # Seconds one upload's proof may take in a worker before the worker is stopped and the
    # file refused (422): a decoder stuck in a loop must not hold a worker forever.
    proof_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    indexer_lease_seconds: float = 120.0
    indexer_poll_seconds: float = 0.5
    # A poison item (one whose analysis, embedding or indexing raises) is retried after
    # base, 2×base, 4×base… seconds (at most the max), then marked failed with its error
    # after `indexer_max_attempts`; `assetlens reconcile --retry-failed` tries again.
    indexer_max_attempts: int = Field(default=5, ge=1, le=100)
    indexer_retry_base_seconds: float = Field(default=1.0, gt=0, le=3600)
    indexer_retry_max_seconds: float = Field(default=300.0, gt=0, le=86_400)
    reconcile_interval_seconds: float = 600.0
    wait_timeout_seconds: float = 30.0

    # API
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Trashed assets are purged for good after this many days (`assetlens purge`, and a
    # scheduled job in the indexer workers that one worker per interval wins).
    trash_retention_days: int = Field(default=30, ge=0, le=36_500)
    trash_purge_interval_seconds: float = Field(default=3600.0, ge=1.0)
    # Versions kept per asset; the oldest non-current ones are pruned automatically.
    max_versions_kept: int = Field(default=10, ge=2, le=1000)
    # Signed links (POST /v1/assets/{id}/signed-url): the HMAC secret (at least 32
    # characters; when unset, one is generated on first use and kept in the store), the
    # longest lifetime a link may ask for, and whether content links redirect to a store
    # presigned URL (S3/MinIO only) instead of streaming through the API.
    signing_secret: SecretStr | None = Field(default=None, min_length=32)
    signed_url_max_seconds: int = Field(default=7 * 24 * 3600, ge=1, le=366 * 24 * 3600)
    signed_url_redirect: bool = False
    # Import from URL (POST /v1/assets/from-url): the whole fetch's deadline, and networks
    # (CIDRs) exempt from the public-address rule: empty in production; tests open it for
    # their own local servers.
    url_import_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    url_import_allow_private: list[IPvAnyNetwork] = Field(default_factory=list)
    # Bulk actions: how many assets one query may select, and parallel manifest writes.
    bulk_max_assets: int = Field(default=10_000, ge=1)
    bulk_workers: int = Field(default=8, ge=1, le=64)

    # Idempotent writes (`Idempotency-Key` on uploads, URL imports and new versions; see
    # services/idempotency.py): how long a key's record answers replays, and how long a
    # request waits for a concurrent one with the same key before answering 409. A claim
    # older than `idempotency_claim_seconds` whose request never finished (a killed
    # process) may be completed or taken over.
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60, le=365 * 24 * 3600)
    idempotency_wait_seconds: float = Field(default=10.0, ge=0, le=300)
    idempotency_claim_seconds: float = Field(default=600.0, ge=1, le=24 * 3600)
    # Expired records are also removed by a scheduled sweep (one indexer worker per interval).
    idempotency_sweep_interval_seconds: float = Field(default=3600.0, ge=1.0)

    # Browser sessions (POST /v1/session): a fixed lifetime from sign-in.
    session_ttl_seconds: int = Field(default=12 * 3600, ge=60, le=30 * 24 * 3600)
    # Honour X-Forwarded-Proto/-Host (a TLS-terminating proxy in front): Secure cookies
    # and the same-origin check then use the client's scheme and host.
    trust_forwarded_headers: bool = False

    # Duplicates at upload and ingest: the default of a workspace's policy (each workspace
    # may set its own with PUT /v1/settings/duplicates). allow | link | reject.
    duplicate_policy: Literal["allow", "link", "reject"] = "allow"
    near_duplicates_enabled: bool = False
    near_duplicate_phash_distance: int = Field(default=4, ge=0, le=32)
    near_duplicate_clip_score: float = Field(default=0.95, ge=0.5, le=1.0)
    # Usage events: buffered in memory, flushed to the store this often; folded into the
    # per-workspace counters by an indexer worker this often (and on each GET /v1/stats).
    usage_flush_seconds: float = Field(default=5.0, gt=0, le=3600)
    usage_fold_interval_seconds: float = Field(default=300.0, gt=0)
    usage_max_buffered: int = Field(default=100_000, ge=1)

    # Folders: nesting levels below the root, and folders per workspace (one tree document).
    max_folder_depth: int = Field(default=32, ge=1, le=256)
    max_folders: int = Field(default=10_000, ge=1, le=30_000)

    # Operations (docs/OPERATIONS.md). Logs: JSON lines, text, or auto (text on a
    # terminal, JSON otherwise).
    log_format: Literal["auto", "json", "text"] = "auto"
    metrics_access: Literal["public", "loopback", "admin"] = Field(
        default="loopback",
        description="Who may read GET /metrics: anyone who can reach it (`public`), loopback "
        "clients only (`loopback`, the default: a scraper on the host or a "
        "sidecar), or admin keys (`admin`). `loopback` checks the TCP peer, so "
        "behind a reverse proxy on the same host every client looks local and "
        "the metrics are public: there use `admin` (or deny /metrics at the "
        "proxy). docs/OPERATIONS.md",
    )
    # `assetlens indexer` has no API: set a port to serve its metrics on host:port/metrics.
    indexer_metrics_port: int | None = Field(default=None, ge=1, le=65_535)
    # OpenTelemetry traces over OTLP/HTTP when an endpoint is set (this setting, or the
    # standard OTEL_EXPORTER_OTLP_ENDPOINT); off, and the SDK never imported, otherwise.
    otel_endpoint: str | None = Field(default=None, max_length=2000)
    otel_service_name: str = "assetlens"
    # Per API key: requests a second and the burst saved up (0 turns the limit off).
    rate_limit_per_second: float = Field(default=0.0, ge=0.0)
    rate_limit_burst: int = Field(default=60, ge=1)
    # Uploads (new assets, versions, URL imports) running at once per workspace; the
    # excess answers 429 with Retry-After at once (0 turns the limit off).
    max_concurrent_uploads: int = Field(default=8, ge=0)

    @property
    def es_nodes(self) -> list[str]:
        """The Elasticsearch node URLs `es_url` lists."""
        return [url.strip() for url in self.es_url.split(",") if url.strip()]

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        """Absolute from the start (a later chdir cannot move the library); `~` expanded,
        which a `.env` file does not do."""
        return absolute_dir(value)

    @property
    def indexer_in_process(self) -> bool:
        if self.run_indexer_in_process is not None:
            return self.run_indexer_in_process
        return self.index_backend is IndexBackend.EMBEDDED

    def max_bytes_for(self, asset_type: str) -> int:
        """The upload limit for an asset type ('other' gets the smallest)."""
        limits = {
            "image": self.max_image_bytes,
            "audio": self.max_audio_bytes,
            "video": self.max_video_bytes,
            "font": self.max_font_bytes,
            "logo": self.max_logo_bytes,
            "text": self.max_text_bytes,
        }
        return limits.get(asset_type, self.max_text_bytes)

    @property
    def max_upload_bytes(self) -> int:
        return max(
            self.max_image_bytes,
            self.max_audio_bytes,
            self.max_video_bytes,
            self.max_font_bytes,
            self.max_logo_bytes,
            self.max_text_bytes,
        )
