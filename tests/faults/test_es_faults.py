"""Elasticsearch unreachable during uploads, and the indexer killed during ingest, both in
production mode (`assetlens serve` + `assetlens indexer` as real processes)."""

from __future__ import annotations

import collections
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.faults.conftest import Production
from tests.faults.harness import (
    FULL,
    WS,
    Outcomes,
    client,
    figures,
    scaled,
    stack,
    upload,
    wait_until,
)
from tests.support import media_samples
from tests.support.faultproxy import Mode

pytestmark = [pytest.mark.integration, pytest.mark.faults]
CONVERGE_LIMIT = 60.0  # the bound, full runs: search has every upload 60 s after
# A backlog of 1,000 needs the indexers' throughput: at full size, one worker per core.
INDEXERS = scaled(1, os.cpu_count() or 2)


def indexed_ids(production: Production) -> collections.Counter[str]:
    """How many index entries each asset id of the workspace has (read past the proxies)."""
    production.direct.index.refresh()
    return collections.Counter(i for ws, i, _ in production.direct.index.revisions() if ws == WS)


def test_uploads_during_an_elasticsearch_outage_are_kept_and_searchable_after(
    production: Production, tmp_path: Path
) -> None:
    total = scaled(100, 1000)
    images = [media_samples.png_bytes((64, 48), seed=n) for n in range(total)]
    key = production.direct.keys.create(WS)
    outcomes = Outcomes()
    lock = threading.Lock()
    # Phases of the outage, by upload number: up, blackholed (hangs), reset (refused
    # connections), slow (1 s ± 0.5 s a chunk), then up again only after the last upload.
    phases = [(0.1, Mode.PASS), (0.5, Mode.BLACKHOLE), (0.8, Mode.RESET), (1.0, Mode.LATENCY)]
    switched: set[Mode] = set()

    def one(n: int) -> None:
        mode = next(m for upto, m in phases if n < upto * total)
        with lock:
            if mode not in switched:
                switched.add(mode)
                production.es.set(mode, ms=1000, jitter=500)
        try:
            result: httpx.Response | BaseException = upload(
                http, n, images[n], f"outage lantern {n}"
            )
        except httpx.HTTPError as exc:
            result = exc
        with lock:
            outcomes.record(result)

    with stack(production.settings, tmp_path / "logs") as procs:
        server = procs.serve()
        for _ in range(INDEXERS):
            procs.indexer()
        with client(server.url, key) as http:
            started = time.monotonic()
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(one, range(total)))
            upload_seconds = time.monotonic() - started
            assert not outcomes.unexpected, outcomes.unexpected[:5]
            assert len(outcomes.accepted) + outcomes.refused == total
            assert production.es.stats.resets > 0  # the outage really happened

            down = http.post("/v1/search", json={"q": "lantern"})
            assert down.status_code in (200, 503), down.text  # latency mode may still answer
            production.es.set(Mode.PASS)

            # 0 lost: every acknowledged upload is in the store ...
            stored = {a.id for a in production.direct.assets.manifests.iter_all(WS)}
            assert set(outcomes.accepted) <= stored

            # ... and in search within the bound, each exactly once.
            def converged() -> bool:
                response = http.post("/v1/search", json={"q": "lantern", "limit": 1})
                return response.status_code == 200 and response.json()["total"] == len(
                    outcomes.accepted
                )

            # CI bounds liveness only (a shared runner's speed is no claim); the full run
            # holds the 60 s, and waits past it so that a slow run still reports.
            converge_seconds = wait_until(
                converged, scaled(180, 1800), "search having every accepted upload"
            )
            assert not FULL or converge_seconds <= CONVERGE_LIMIT, (
                f"search took {converge_seconds:.0f} s to have every upload after the outage"
            )
    counts = indexed_ids(production)
    assert set(counts) == set(outcomes.accepted)
    assert max(counts.values()) == 1
    figures(
        "es-outage",
        uploads=total,
        accepted=len(outcomes.accepted),
        refused=outcomes.refused,
        lost=0,
        proxy_resets=production.es.stats.resets,
        upload_s=f"{upload_seconds:.1f}",
        converged_s=f"{converge_seconds:.1f}",
    )


def test_indexer_killed_at_random_points_indexes_every_asset_exactly_once(
    production: Production, tmp_path: Path
) -> None:
    kills = scaled(5, 50)
    per_round = 6
    rng = random.Random(11)
    key = production.direct.keys.create(WS)
    accepted: list[str] = []
    indexed_by_killed = 0
    with stack(production.settings, tmp_path / "logs") as procs:
        server = procs.serve()
        with client(server.url, key) as http:
            for kill in range(kills):
                # New work keeps arriving while the worker is killed, mid-batch or not.
                for n in range(per_round):
                    seed = kill * per_round + n
                    response = upload(
                        http,
                        seed,
                        media_samples.png_bytes((64, 48), seed=seed),
                        f"ingest beacon {seed}",
                    )
                    assert response.status_code == 201, response.text
                    accepted.append(response.json()["id"])
                worker = procs.indexer()
                # Half the kills land right after start-up (claims just taken), half after
                # a first batch was acknowledged; both a random moment later.
                marker = "indexed " if rng.random() < 0.5 else "indexer started"
                wait_until(
                    lambda w=worker, m=marker: m in w.output(),  # type: ignore[misc]
                    120,
                    f"indexer log showing {marker!r}",
                )
                time.sleep(rng.uniform(0.0, 1.0))
                worker.kill()
                indexed_by_killed += worker.output().count("indexed ")
            killed_with_work = production.direct.queue.pending()
            procs.indexer()  # one that is left to finish

            def converged() -> bool:
                return (
                    set(indexed_ids(production)) == set(accepted)
                    and production.direct.queue.pending() == 0
                )

            wait_until(converged, 180, "the last indexer finishing the queue")
            total = http.post("/v1/search", json={"q": "beacon", "limit": 1}).json()["total"]
    counts = indexed_ids(production)
    assert max(counts.values()) == 1 and len(counts) == len(accepted) == total
    revisions = {a.id: a.revision for a in production.direct.assets.manifests.iter_all(WS)}
    indexed = {i: r for ws, i, r in production.direct.index.revisions() if ws == WS}
    assert indexed == revisions  # the latest revision of each, not a stale one
    assert indexed_by_killed > 0  # the kills did land while work was being done
    figures(
        "indexer-sigkill",
        kills=kills,
        assets=len(accepted),
        indexed_by_killed_workers=indexed_by_killed,
        pending_after_kills=killed_with_work,
        missing=0,
        duplicated=0,
    )
