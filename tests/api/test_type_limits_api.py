"""SECURITY.md row 7 over HTTP: every asset type's size limit holds — a file one byte over
it is 413 problem+json while it streams, with nothing stored and no spool file left; a file
exactly at it is accepted — and the API never holds a whole upload in memory. Both backends.

Each type's limit is set to the size of a small valid sample of that type, so the bodies
stay a few kilobytes."""

from __future__ import annotations

import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetlens.bootstrap import Container
from benchmarks.bench_upload_memory import padded_mp4
from tests.api.conftest import live_with
from tests.conftest import Api
from tests.fakes import FakeEmbedder
from tests.support import media_samples as samples

Live = tuple[str, Container]
MiB = 1024 * 1024

# One valid sample per type (file name, bytes); each type's limit is its sample's size.
SAMPLES: dict[str, tuple[str, bytes]] = {
    "image": ("picture.png", samples.png_bytes((96, 64))),
    "video": ("clip.mp4", samples.mp4_bytes(with_audio=False, seconds=0.5)),
    "audio": ("sound.wav", samples.wav_bytes(seconds=0.2)),
    "font": ("face.ttf", samples.ttf_bytes()),
    "logo": ("mark.svg", samples.svg_bytes()),
    "text": ("prompt.txt", b"a red fox in the snow, golden hour, 35 mm\n" * 40),
}
LIMITS = {f"max_{kind}_bytes": len(data) for kind, (_, data) in SAMPLES.items()}
# Keys the upload path writes: what a refused upload must leave as it was.
WRITTEN = ("blobs/", "manifests/", "queue/", "refs/", "sha/", "versions/")


@pytest.fixture(scope="module", params=["embedded", "servers"])
def live_limited(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    with live_with(request, tmp_path_factory, FakeEmbedder(), **LIMITS) as live:
        yield live


def written_keys(container: Container) -> set[str]:
    return {key for prefix in WRITTEN for key in container.store.list_keys(prefix)}


def new_keys(container: Container, before: set[str]) -> set[str]:
    """Keys written since `before` (the indexer may meanwhile remove the queue items of
    earlier tests' uploads: that is not this test's doing)."""
    return written_keys(container) - before


def spool_files(container: Container) -> list[Path]:
    return list((container.settings.data_dir / "tmp" / "uploads").glob("*"))


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_one_byte_over_a_types_limit_is_413_and_stores_nothing(
    live_limited: Live, kind: str
) -> None:
    base_url, container = live_limited
    workspace = f"lim-{uuid.uuid4().hex[:8]}"
    api = Api(base_url, container.keys.create(workspace))
    filename, data = SAMPLES[kind]
    before = written_keys(container)
    response = api.upload(filename, data + b"\n", wait=False)
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 413
    assert str(len(data)) in problem["detail"]
    assert new_keys(container, before) == set()
    assert spool_files(container) == []
    assert list(container.assets.manifests.iter_all(workspace)) == []


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_a_file_exactly_at_its_types_limit_is_accepted(live_limited: Live, kind: str) -> None:
    base_url, container = live_limited
    api = Api(base_url, container.keys.create(f"lim-{uuid.uuid4().hex[:8]}"))
    filename, data = SAMPLES[kind]
    response = api.upload(filename, data, wait=False)
    assert response.status_code == 201, response.text
    asset = response.json()
    assert asset["type"] == kind and asset["size_bytes"] == len(data)
    assert api.http.get(f"/v1/assets/{asset['id']}/content").content == data


def test_a_png_filed_as_a_logo_is_held_to_the_logo_limit(live_limited: Live) -> None:
    # The stream is checked against the extension's type (image); the requested type's own
    # limit applies once the type is known: still 413, still nothing stored.
    base_url, container = live_limited
    api = Api(base_url, container.keys.create(f"lim-{uuid.uuid4().hex[:8]}"))
    logo = samples.png_bytes((24, 24), seed=3)
    assert LIMITS["max_logo_bytes"] < len(logo) <= LIMITS["max_image_bytes"]
    before = written_keys(container)
    response = api.upload("mark.png", logo, wait=False, type="logo")
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "logo" in response.json()["detail"]
    assert new_keys(container, before) == set()
    assert spool_files(container) == []
    assert api.upload("mark.png", logo, wait=False).status_code == 201  # as an image


# -- memory: the API streams an upload, it never holds the whole body ----------------------

UPLOAD_MB = 64
# Python allocations of the whole test process (server, its store, the client) while one
# 64 MiB upload streams through: whole-body buffering would need at least 64 MiB. Measured
# on a busy 2-core machine: about 4.5 MiB embedded, 16.5 MiB with MinIO, whose uploads hold
# one 16 MiB multipart part by design; the bounds leave room and stay far from 64.
BOUND_MIB = {"embedded": 16, "servers": 16 + 16}


@pytest.fixture(scope="module", params=["embedded", "servers"])
def live_roomy(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Live]]:
    with live_with(
        request, tmp_path_factory, FakeEmbedder(), max_video_bytes=(UPLOAD_MB + 1) * MiB
    ) as live:
        yield request.param, live


def test_a_streamed_upload_is_never_held_whole_in_memory(
    live_roomy: tuple[str, Live], tmp_path: Path
) -> None:
    backend, (base_url, container) = live_roomy
    container.stop_indexer_thread()  # its analysis of the video is not the upload's memory
    api = Api(base_url, container.keys.create(f"mem-{uuid.uuid4().hex[:8]}"))
    video = tmp_path / "big.mp4"
    padded_mp4(video, UPLOAD_MB)
    boundary = "memboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="big.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
    ).encode()

    def body() -> Iterator[bytes]:
        yield head
        with video.open("rb") as handle:
            while chunk := handle.read(64 * 1024):
                yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        response = api.http.post(
            "/v1/assets",
            params={"wait": "false"},
            content=body(),
            timeout=300,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 201, response.text
    assert response.json()["size_bytes"] == video.stat().st_size
    growth_mib = (peak - baseline) / MiB
    assert growth_mib < BOUND_MIB[backend], f"{growth_mib:.1f} MiB for a {UPLOAD_MB} MiB upload"
