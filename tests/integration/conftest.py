"""Session fixtures that provide REAL servers (MinIO now, Elasticsearch later).

`ensure_service` is the generic part: take the connection settings from the environment
or from the env file the start script writes, probe them, start the server with its script
when it does not answer, and otherwise fail (with `CI=true`: integration tests must never
be skipped in CI) or skip with the reason. Each test then gets its own bucket.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from minio import Minio

from assetlens.config import Settings
from assetlens.errors import AssetlensError
from storage.s3 import S3ObjectStore
from storage.s3_connect import http_client

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
MINIO_KEYS = ("ASSETLENS_S3_ENDPOINT", "ASSETLENS_S3_ACCESS_KEY", "ASSETLENS_S3_SECRET_KEY")
# The first start may build MinIO from source (minutes on 2 cores); later ones take ~1 s.
START_TIMEOUT = float(os.environ.get("ASSETLENS_SERVICE_START_TIMEOUT", "900"))

Probe = Callable[[Mapping[str, str]], "str | None"]


def services_dir() -> Path:
    """Where the start scripts keep pids, logs, data and `<name>.env`."""
    default = Path.home() / ".cache" / "assetlens" / "services"
    return Path(os.environ.get("ASSETLENS_SERVICES_DIR", default))


def in_ci() -> bool:
    """CI must run the integration tests, never skip them."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (blank lines and # comments ignored); {} when the file is missing."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def service_env(keys: Sequence[str], env_file: Path) -> dict[str, str] | None:
    """The connection settings: the process environment when it sets every key, else the
    env file; None when neither has them all."""
    if all(os.environ.get(k) for k in keys):
        return {k: os.environ[k] for k in keys}
    from_file = read_env_file(env_file)
    if all(from_file.get(k) for k in keys):
        return {k: from_file[k] for k in keys}
    return None


def unavailable(reason: str) -> None:
    """Fail in CI, skip elsewhere; both say why."""
    if in_ci():
        pytest.fail(f"integration service unavailable in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def run_script(
    argv: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = START_TIMEOUT
) -> str | None:
    """Run a service script; None on success, else the reason (with its output tail)."""
    try:
        done = subprocess.run(
            list(argv),
            cwd=REPO,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"{' '.join(argv)} did not finish within {timeout:.0f} s"
    except OSError as exc:
        return f"{' '.join(argv)} could not run: {exc}"
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-8:]
        return f"{' '.join(argv)} exited {done.returncode}: " + " | ".join(tail)
    return None


@dataclass
class ServiceSpec:
    """How to find, probe and start one server."""

    name: str
    keys: Sequence[str]
    env_file: Path
    probe: Probe
    start: Sequence[str]
    stop: Sequence[str]
    fallbacks: list[Callable[[], dict[str, str] | None]] = field(default_factory=list)


@dataclass
class RunningService:
    env: dict[str, str]
    started_here: bool = False


def ensure_service(spec: ServiceSpec) -> RunningService:
    """A reachable server for `spec`: the configured one, else one started by its script,
    else one from a fallback (testcontainers); otherwise fail in CI / skip here."""
    env = service_env(spec.keys, spec.env_file)
    if env is not None and spec.probe(env) is None:
        return RunningService(env)
    explicit = all(os.environ.get(k) for k in spec.keys)
    reasons: list[str] = []
    if env is not None:
        reasons.append(f"configured {spec.name} does not answer: {spec.probe(env)}")
    if not explicit:
        failure = run_script(spec.start)
        if failure is None:
            env = service_env(spec.keys, spec.env_file)
            problem = spec.probe(env) if env is not None else f"{spec.env_file} not written"
            if env is not None and problem is None:
                return RunningService(env, started_here=True)
            reasons.append(f"{spec.name} started but is not usable: {problem}")
        else:
            reasons.append(failure)
    for fallback in spec.fallbacks:
        env = fallback()
        if env is not None and spec.probe(env) is None:
            return RunningService(env)
    unavailable(f"no {spec.name} server: " + "; ".join(reasons))
    raise AssertionError("unreachable")  # pragma: no cover - skip/fail raise


def docker_works() -> bool:
    """Whether a Docker engine answers (testcontainers needs one; this machine has none)."""
    if shutil.which("docker") is None:
        return False
    try:
        return (
            subprocess.run(
                ["docker", "info"],
                capture_output=True,
                timeout=20,
                check=False,
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


_containers: list[object] = []


def minio_from_testcontainers() -> dict[str, str] | None:
    """Hook: a MinIO container where Docker and testcontainers exist; None otherwise."""
    if not docker_works():
        return None
    try:
        from testcontainers.minio import MinioContainer
    except ImportError:
        return None
    container = MinioContainer()
    container.start()
    _containers.append(container)
    config = container.get_config()
    return {
        "ASSETLENS_S3_ENDPOINT": f"http://{config['endpoint']}",
        "ASSETLENS_S3_ACCESS_KEY": str(config["access_key"]),
        "ASSETLENS_S3_SECRET_KEY": str(config["secret_key"]),
    }


def s3_settings(env: Mapping[str, str], bucket: str = "assetlens-it") -> Settings:
    """Settings for the S3 store on the server described by `env`."""
    return Settings(
        _env_file=None,
        store_backend="s3",
        s3_endpoint=env["ASSETLENS_S3_ENDPOINT"],
        s3_access_key=env["ASSETLENS_S3_ACCESS_KEY"],
        s3_secret_key=env["ASSETLENS_S3_SECRET_KEY"],
        s3_bucket=bucket,
    )


def probe_s3(env: Mapping[str, str]) -> str | None:
    """None when the S3 endpoint answers with these credentials, else why not."""
    try:
        S3ObjectStore.from_settings(s3_settings(env), retries=0).check()
    except (AssetlensError, ValueError) as exc:
        return str(exc)
    return None


def minio_spec(env_overrides: Mapping[str, str] | None = None) -> ServiceSpec:
    """The shared MinIO of scripts/minio.sh (its services dir, unless overridden)."""
    base = Path((env_overrides or {}).get("ASSETLENS_SERVICES_DIR", services_dir()))
    return ServiceSpec(
        name="MinIO",
        keys=MINIO_KEYS,
        env_file=base / "minio.env",
        probe=probe_s3,
        start=["bash", str(SCRIPTS / "minio.sh"), "start"],
        stop=["bash", str(SCRIPTS / "minio.sh"), "stop"],
        fallbacks=[minio_from_testcontainers],
    )


@pytest.fixture(scope="session")
def minio_service() -> Iterator[RunningService]:
    """The shared MinIO; stopped at the end only if this session started it (set
    ASSETLENS_KEEP_SERVICES=1 to keep it for the next run)."""
    spec = minio_spec()
    service = ensure_service(spec)
    yield service
    if service.started_here and os.environ.get("ASSETLENS_KEEP_SERVICES") != "1":
        run_script(spec.stop, timeout=60)
    for container in _containers:
        with suppress(Exception):
            container.stop()  # type: ignore[attr-defined]


def admin_client(env: Mapping[str, str]) -> Minio:
    """A plain SDK client for test setup and cleanup (not the adapter under test)."""
    endpoint = urlsplit(env["ASSETLENS_S3_ENDPOINT"])
    return Minio(
        endpoint.netloc,
        access_key=env["ASSETLENS_S3_ACCESS_KEY"],
        secret_key=env["ASSETLENS_S3_SECRET_KEY"],
        secure=endpoint.scheme == "https",
        region="us-east-1",
        http_client=http_client(),
    )


def remove_bucket(client: Minio, bucket: str) -> None:
    """Delete every object and unfinished upload in `bucket`, then the bucket."""
    if not client.bucket_exists(bucket):
        return
    for obj in client.list_objects(bucket, recursive=True):
        client.remove_object(bucket, str(obj.object_name))
    client.remove_bucket(bucket)


@pytest.fixture
def s3_bucket(minio_service: RunningService) -> Iterator[str]:
    """A unique bucket name for one test (not created: the store creates it lazily);
    removed with its contents afterwards."""
    name = f"it-{uuid.uuid4().hex[:20]}"
    yield name
    remove_bucket(admin_client(minio_service.env), name)


@pytest.fixture
def s3_store(minio_service: RunningService, s3_bucket: str) -> S3ObjectStore:
    """The adapter under test on a fresh bucket of the shared MinIO."""
    return S3ObjectStore.from_settings(s3_settings(minio_service.env, s3_bucket))
