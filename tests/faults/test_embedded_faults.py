"""Embedded mode (local files + SQLite) under hard faults: the server SIGKILLed while it
writes, and the disk filling up. Afterwards every manifest parses, every blob's bytes match
its sha256, every acknowledged upload is there and `assetlens reconcile` finds no drift."""

from __future__ import annotations

import contextlib
import hashlib
import random
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assetlens import layout
from assetlens.bootstrap import build
from assetlens.config import Settings
from assetlens.domain import Asset
from tests.conftest import make_settings
from tests.faults.harness import (
    WS,
    Outcomes,
    Stack,
    client,
    figures,
    noise_png,
    scaled,
    stack,
    upload,
    wait_for_drain,
    wait_until,
)
from tests.support import media_samples

pytestmark = [pytest.mark.faults]


def embedded(data: Path) -> Settings:
    return make_settings(data, indexer_poll_seconds=0.1, indexer_lease_seconds=5.0)


def drain_and_stop(procs: Stack, server_url: str, key: str) -> None:
    """Serve once more until its in-process indexer has emptied the queue, then stop it."""
    checked = build(procs.settings, use_embedder=False)
    with client(server_url, key) as http, contextlib.closing(checked):
        wait_for_drain(checked.queue.pending, 180, "the in-process indexer emptying the queue")
        assert http.get("/v1/health").status_code == 200
    procs.close()


def audit(settings: Settings, acknowledged: list[str]) -> dict[str, int]:
    """Check the library at rest; the counts of what was checked."""
    container = build(settings, use_embedder=False)
    try:
        store = container.store
        manifests = 0
        for key in store.list_keys(layout.manifest_prefix()):
            Asset.model_validate_json(store.get_bytes(key).data)  # raises if torn
            manifests += 1
        blobs = 0
        for key in store.list_keys("blobs/sha256/"):
            digest = hashlib.sha256()
            for chunk in store.iter_range(key):
                digest.update(chunk)
            assert key.rsplit("/", 1)[1] == digest.hexdigest(), f"corrupt blob {key}"
            blobs += 1
        present = {a.id for a in container.assets.manifests.iter_all(WS)}
        missing = set(acknowledged) - present
        assert not missing, f"{len(missing)} acknowledged uploads lost"
        for asset in container.assets.manifests.iter_all(WS):
            assert store.exists(layout.blob_key(asset.sha256)), f"{asset.id} lost its blob"
        return {"manifests": manifests, "blobs": blobs}
    finally:
        container.close()


def reconcile(procs: Stack) -> str:
    """`assetlens reconcile`'s report line."""
    done = procs.run("reconcile")
    assert done.returncode == 0, done.stdout + done.stderr
    return " ".join((done.stdout + done.stderr).split())


def reconcile_is_clean(procs: Stack) -> str:
    report = reconcile(procs)
    assert "queued 0, removed 0" in report, report
    return report


class Uploader:
    """Threads uploading small PNGs until stopped; remembers every acknowledged id."""

    def __init__(self, base_url: str, key: str, start: int) -> None:
        self.outcomes = Outcomes()
        self.dropped = 0  # connections the kill cut: the client cannot know the outcome
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._next = start
        self._threads = [
            threading.Thread(target=self._run, args=(base_url, key), daemon=True) for _ in range(3)
        ]
        for thread in self._threads:
            thread.start()

    def _run(self, base_url: str, key: str) -> None:
        with client(base_url, key, timeout=60) as http:
            while not self._stop.is_set():
                with self._lock:
                    n, self._next = self._next, self._next + 1
                try:
                    response = upload(
                        http, n, media_samples.png_bytes((96, 64), seed=n), f"crash candle {n}"
                    )
                except httpx.TransportError:
                    with self._lock:
                        self.dropped += 1
                    return  # the server is gone: this one was in flight when it died
                with self._lock:
                    self.outcomes.record(response)

    def stop(self) -> int:
        self._stop.set()
        for thread in self._threads:
            thread.join(90)
        return self._next


def test_server_sigkilled_mid_write_leaves_no_corrupt_manifest_or_blob(tmp_path: Path) -> None:
    kills = scaled(8, 200)
    rng = random.Random(7)
    settings = embedded(tmp_path / "data")
    setup = build(settings, use_embedder=False)
    key = setup.keys.create(WS)
    setup.close()
    acknowledged: list[str] = []
    dropped = refused = 0
    seed = 0
    with stack(settings, tmp_path / "logs") as procs:
        for _ in range(kills):
            server = procs.serve()
            uploader = Uploader(server.url, key, seed)
            wait_until(
                lambda u=uploader: len(u.outcomes.accepted) > 0,  # type: ignore[misc]
                60,
                "a first upload",
            )
            threading.Event().wait(rng.uniform(0.0, 1.0))
            server.kill()
            seed = uploader.stop()
            assert not uploader.outcomes.unexpected, uploader.outcomes.unexpected[:5]
            acknowledged += uploader.outcomes.accepted
            dropped += uploader.dropped
            refused += uploader.outcomes.refused
        server = procs.serve()
        drain_and_stop(procs, server.url, key)
        counts = audit(settings, acknowledged)
        # A kill between an upload's manifest write and its queue write (before the client
        # got its 201) leaves that asset unindexed: the periodic reconcile is what queues
        # it. After that one pass and the indexer's, nothing is left to repair.
        repaired = reconcile(procs)
        assert "removed 0" in repaired, repaired
        server = procs.serve()
        drain_and_stop(procs, server.url, key)
        report = reconcile_is_clean(procs)
    figures(
        "embedded-sigkill",
        kills=kills,
        acknowledged=len(acknowledged),
        cut_by_the_kill=dropped,
        refused=refused,
        **counts,
        first_reconcile=f"'{repaired}'",
        second_reconcile=f"'{report}'",
    )


# -- a full disk ---------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs (root only: the test is skipped, saying so, where mount is refused)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_refuses_uploads_cleanly_and_recovers(small_disk: Path, tmp_path: Path) -> None:
    settings = embedded(small_disk / "data")
    setup = build(settings, use_embedder=False)
    key = setup.keys.create(WS)
    setup.close()
    outcomes = Outcomes()
    with stack(settings, tmp_path / "logs") as procs:
        server = procs.serve()
        with client(server.url, key) as http:
            attempts = 0
            # Uploads of ~0.5 MB until the disk has refused several in a row.
            while outcomes.refused < 5 and attempts < 200:
                outcomes.record(
                    upload(http, attempts, noise_png(attempts, side=400), "disk filler")
                )
                attempts += 1
            assert not outcomes.unexpected, outcomes.unexpected[:5]
            assert outcomes.refused >= 5 and outcomes.accepted
            for asset_id in outcomes.accepted:  # what was acknowledged reads back
                assert http.get(f"/v1/assets/{asset_id}/content").status_code == 200
            # Space comes back: the same server takes uploads again.
            subprocess.run(["mount", "-o", "remount,size=256m", str(small_disk)], check=True)
            after = upload(http, 10_000, noise_png(10_000, side=400), "after the disk grew")
            assert after.status_code == 201, after.text
            outcomes.accepted.append(after.json()["id"])
        drain_and_stop(procs, server.url, key)
        counts = audit(settings, outcomes.accepted)
        # An upload refused because its queue write hit the full disk after its manifest
        # was written is left unindexed, like a kill there: one reconcile queues it.
        repaired = reconcile(procs)
        assert "removed 0" in repaired, repaired
        server = procs.serve()
        drain_and_stop(procs, server.url, key)
        report = reconcile_is_clean(procs)
    figures(
        "disk-full",
        attempts=attempts,
        accepted=len(outcomes.accepted),
        refused=outcomes.refused,
        **counts,
        first_reconcile=f"'{repaired}'",
        second_reconcile=f"'{report}'",
    )
