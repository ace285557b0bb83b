"""A closed-loop HTTP load generator for `assetlens serve`: N concurrent clients, each
looping over a weighted mix of uploads (small PNGs with prompts), keyword searches,
thumbnails and patches (If-Match), for a fixed time. Then it checks that every upload the
server acknowledged (201) can be read back: 0 lost.

What counts as an error: any status other than the operation's expected one (a 412 to a
patch whose If-Match lost a race with another client or the indexer is the contract
working: the client re-reads and retries, and the retry is counted), a dropped connection
or a timeout. Latencies are per request, from send to the whole body read.
"""

from __future__ import annotations

import asyncio
import io
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from PIL import Image, ImageDraw

WORDS = (
    "lantern",
    "harbor",
    "meadow",
    "comet",
    "violet",
    "granite",
    "ember",
    "tundra",
    "orchid",
    "citadel",
    "reef",
    "saffron",
    "glacier",
    "monsoon",
    "quartz",
    "falcon",
)
MIX = {"upload": 3, "search": 4, "thumbnail": 2, "patch": 1}
OPS = (*MIX, "get")  # "get": the read before each patch, for its ETag
SEED_ASSETS = 16
PATCH_ATTEMPTS = 8
THROTTLED_ATTEMPTS = 50
# Idle pooled connections are dropped before the server's keep-alive timeout (uvicorn: 5 s)
# closes them: at equal timeouts a request can be sent on a connection the server is just
# closing, a ReadError that says nothing about the server.
KEEPALIVE_EXPIRY = 2.0  # uploaded (and indexed) before the clock starts: thumbnails need them


@dataclass
class OpStats:
    """One operation's requests: latencies of the answered ones, and the errors."""

    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    retries: int = 0  # 412s answered by re-reading and patching again
    throttled: int = 0  # 429s waited out

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(q) - 1]


@dataclass
class Report:
    """The outcome of one run."""

    users: int
    seconds: float
    ops: dict[str, OpStats]
    acknowledged: list[str]
    lost: list[str]

    @property
    def errors(self) -> int:
        return sum(sum(op.errors.values()) for op in self.ops.values())

    def rows(self) -> list[dict[str, object]]:
        """Per operation: count, errors, retries, throughput, p50 and p99 in ms."""
        return [
            {
                "operation": name,
                "requests": len(op.latencies),
                "errors": sum(op.errors.values()),
                "retries": op.retries,
                "throttled": op.throttled,
                "per_second": round(len(op.latencies) / self.seconds, 1),
                "p50_ms": round(op.percentile(50) * 1000, 1),
                "p99_ms": round(op.percentile(99) * 1000, 1),
            }
            for name, op in self.ops.items()
        ]

    def table(self) -> str:
        lines = [
            "| operation | requests | errors | retries (412) | throttled (429) | req/s "
            "| p50 ms | p99 ms |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in self.rows():
            lines.append(
                "| {operation} | {requests} | {errors} | {retries} | {throttled} | "
                "{per_second} | {p50_ms} | {p99_ms} |".format(**row)
            )
        lines.append(
            f"\n{self.users} clients, {self.seconds:.0f} s; "
            f"{len(self.acknowledged)} uploads acknowledged, {len(self.lost)} lost, "
            f"{self.errors} errors"
        )
        return "\n".join(lines)

    def error_samples(self) -> list[str]:
        return [
            f"{name}: {err} x{n}"
            for name, op in self.ops.items()
            for err, n in op.errors.most_common(3)
        ]


def png(n: int) -> bytes:
    """A small PNG, different for every `n` (distinct bytes: no deduplication)."""
    rng = random.Random(n)
    im = Image.new("RGB", (96, 64), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(im)
    for _ in range(4):
        box = sorted(rng.sample(range(96), 2)) + sorted(rng.sample(range(64), 2))
        draw.rectangle(
            (box[0], box[2], box[1], box[3]), fill=tuple(rng.randrange(256) for _ in range(3))
        )
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


class Load:
    """Shared state of the simulated clients."""

    def __init__(self, http: httpx.AsyncClient, seed: int) -> None:
        self.http = http
        self.rng = random.Random(seed)
        self.ops = {name: OpStats() for name in OPS}
        self.acknowledged: list[str] = []
        self.ready: list[str] = []  # assets that search returned: indexed, with previews
        self._counter = seed * 1_000_000

    async def timed(
        self, op: str, request: httpx.Request, expected: tuple[int, ...]
    ) -> httpx.Response | None:
        """Send; record the latency, or the error. None on an error. A 429 (the server's
        rate or upload-slot limit) is honoured as a client must: wait Retry-After, send
        again; counted as throttled, not as an error."""
        for _ in range(THROTTLED_ATTEMPTS):
            started = time.perf_counter()
            try:
                response = await self.http.send(request)
            except httpx.HTTPError as exc:
                self.ops[op].errors[type(exc).__name__] += 1
                return None
            if response.status_code != 429:
                self.ops[op].latencies.append(time.perf_counter() - started)
                break
            self.ops[op].throttled += 1
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))
        if response.status_code not in expected:
            self.ops[op].errors[f"HTTP {response.status_code}"] += 1
            return None
        return response

    async def upload(self, wait: bool = False) -> None:
        self._counter += 1
        n = self._counter
        words = " ".join(self.rng.sample(WORDS, 3))
        request = self.http.build_request(
            "POST",
            "/v1/assets",
            params={"wait": str(wait).lower()},
            files={"file": (f"load-{n}.png", png(n), "image/png")},
            data={"prompt": f"a {words} scene, number {n}", "tags": "load"},
        )
        response = await self.timed("upload", request, (201,))
        if response is not None:
            self.acknowledged.append(response.json()["id"])

    async def search(self) -> None:
        request = self.http.build_request(
            "POST", "/v1/search", json={"q": self.rng.choice(WORDS), "limit": 10}
        )
        response = await self.timed("search", request, (200,))
        if response is not None:
            hits = [hit["asset"]["id"] for hit in response.json()["items"]]
            self.ready.extend(hits[:2])
            del self.ready[:-500]  # a bounded sample to draw thumbnails and patches from

    async def thumbnail(self) -> None:
        asset_id = self.rng.choice(self.ready)
        request = self.http.build_request("GET", f"/v1/assets/{asset_id}/thumbnail")
        await self.timed("thumbnail", request, (200,))

    async def patch(self) -> None:
        # Any acknowledged upload: spread over all of them, as edits by different people
        # are; the indexer finishing the asset can still win the race (412, retried).
        asset_id = self.rng.choice(self.acknowledged or self.ready)
        for attempt in range(PATCH_ATTEMPTS):
            current = await self.timed(
                "get", self.http.build_request("GET", f"/v1/assets/{asset_id}"), (200,)
            )
            if current is None:
                return
            body = {
                "tags": sorted({*current.json()["tags"], self.rng.choice(WORDS)})[:20],
                "description": f"edited at {time.time():.3f}",
            }
            request = self.http.build_request(
                "PATCH",
                f"/v1/assets/{asset_id}",
                json=body,
                headers={"If-Match": current.headers["etag"]},
            )
            answer = await self.timed("patch", request, (200, 412))
            if answer is None or answer.status_code == 200:
                return
            self.ops["patch"].retries += 1
            await asyncio.sleep(self.rng.uniform(0.0, 0.05 * (attempt + 1)))
        self.ops["patch"].errors[f"412 {PATCH_ATTEMPTS} times in a row"] += 1

    async def client(self, deadline: float) -> None:
        names, weights = list(MIX), list(MIX.values())
        while time.monotonic() < deadline:
            op = self.rng.choices(names, weights)[0]
            await getattr(self, op)()

    async def missing(self) -> list[str]:
        """Acknowledged uploads the server does not have."""
        lost = []
        for asset_id in self.acknowledged:
            response = await self.http.get(f"/v1/assets/{asset_id}")
            if response.status_code != 200:
                lost.append(asset_id)
        return lost


async def run(base_url: str, key: str, *, users: int, seconds: float, seed: int = 1) -> Report:
    """Seed a few indexed assets, run `users` clients for `seconds`, then check for loss."""
    limits = httpx.Limits(
        max_connections=users + 4,
        max_keepalive_connections=users + 4,
        keepalive_expiry=KEEPALIVE_EXPIRY,
    )
    async with httpx.AsyncClient(
        base_url=base_url, timeout=120, limits=limits, headers={"Authorization": f"Bearer {key}"}
    ) as http:
        load = Load(http, seed)
        for _ in range(SEED_ASSETS):
            await load.upload(wait=True)
        give_up = time.monotonic() + 120
        while not load.ready:
            if time.monotonic() > give_up:
                raise RuntimeError("search found none of the seed uploads within 120 s")
            await load.search()
            if not load.ready:
                await asyncio.sleep(0.5)
        load.ops = {name: OpStats() for name in OPS}  # the warm-up is not measured
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(*(load.client(deadline) for _ in range(users)))
        elapsed = time.monotonic() - started
        lost = await load.missing()
        return Report(users, elapsed, load.ops, load.acknowledged, lost)
