"""Web UI speed in a real browser: time to first results, and scrolling through 10k assets.

Builds two libraries in a temporary embedded-mode data directory — the demo samples
(`assetlens demo`'s, through the real ingest path and indexer) and a large one (a few
generated images through the same path, then cloned to `--assets` manifests written
through the manifest store and the search index directly, so 10k assets take seconds) —,
serves them with uvicorn, and drives Debian's Chromium with Playwright:

- **first results**: a fresh browser context (empty cache, a signed-in session cookie)
  opens `/`; the page sets `performance.mark("first-results")` after the first grid render
  once the first thumbnail is decoded; its time from navigation start is reported.
- **scrolling**: on the large library the page scrolls the window to the very end in
  `scrollBy` steps, one per animation frame, loading pages as a user's scroll would, while
  `requestAnimationFrame` records frame times and a `PerformanceObserver("longtask")`
  counts long tasks; then the DOM size is read.

Run: `python -m benchmarks.bench_ui [--assets 10000] [--out docs/results/ui.json]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, sync_playwright

from api.app import create_app
from assetlens import layout
from assetlens.bootstrap import Container, build
from assetlens.config import Settings
from assetlens.demo import DEMO_WORKSPACE, load_samples
from assetlens.domain import AssetStatus, new_id
from assetlens.ingest import ingest_files
from assetlens.query import IndexDoc

LARGE_WORKSPACE = "bench-ui"
BASE_IMAGES = 48
VIEWPORT = {"width": 1366, "height": 860}
FRAME_MS = 1000 / 60
FIRST_RESULTS = "performance.getEntriesByName('first-results')"

# Runs in the page: scroll the window to the end of the result list (all `total` tiles
# loaded, bottom reached), one scrollBy step per frame, recording frame times.
SCROLL_SCRIPT = """
async ({ step, timeoutMs }) => {
  const frames = [];
  const longTasks = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) longTasks.push(entry.duration);
  });
  observer.observe({ type: "longtask", buffered: false });
  const total = () => Number((document.getElementById("summary").textContent || "0")
    .replace(/[^0-9]/g, ""));
  const loaded = () => Number(document.getElementById("results").dataset.loaded
    || document.querySelectorAll("#results .tile").length);
  const started = performance.now();
  let last = started;
  let atEndFrames = 0;
  await new Promise((resolve) => {
    const tick = (now) => {
      frames.push(now - last);
      last = now;
      window.scrollBy(0, step);
      const bottom = window.scrollY + window.innerHeight >=
        document.documentElement.scrollHeight - 2;
      atEndFrames = bottom && loaded() >= total() ? atEndFrames + 1 : 0;
      if (atEndFrames > 30 || now - started > timeoutMs) resolve(null);
      else requestAnimationFrame(tick);
    };
    requestAnimationFrame((now) => { last = now; requestAnimationFrame(tick); });
  });
  observer.disconnect();
  return {
    frames, longTasks, seconds: (performance.now() - started) / 1000,
    loaded: loaded(), total: total(),
    domNodes: document.getElementsByTagName("*").length,
    tilesInDom: document.querySelectorAll("#results .tile").length,
    scrollHeight: document.documentElement.scrollHeight,
  };
}
"""


def settings_for(data_dir: Path) -> Settings:
    """Embedded mode, no CLIP model (keyword browsing is what the grid shows)."""
    return Settings(
        _env_file=None, data_dir=data_dir, clip_enabled=False, indexer_poll_seconds=0.05
    )


def base_images(directory: Path, count: int) -> list[Path]:
    """Small distinct PNGs (gradients with a shape), so thumbnails differ on screen."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        image = Image.new("RGB", (256, 256), ((i * 53) % 256, (i * 97) % 256, (i * 29) % 256))
        draw = ImageDraw.Draw(image)
        colour = ((i * 151) % 256, 255 - (i * 37) % 256, (i * 71) % 256)
        draw.ellipse((40 + i % 60, 40, 200, 200 - i % 50), fill=colour)
        path = directory / f"base-{i:03d}.png"
        image.save(path)
        paths.append(path)
    return paths


def build_large(container: Container, directory: Path, count: int) -> float:
    """`count` assets in LARGE_WORKSPACE: BASE_IMAGES ingested for real (blobs, previews,
    index), the rest cloned from them as new manifests + index documents. Seconds taken."""
    started = time.perf_counter()
    report = ingest_files(container.assets, LARGE_WORKSPACE, base_images(directory, BASE_IMAGES))
    container.indexer.drain()
    bases = [container.assets.get(LARGE_WORKSPACE, a.id) for a in report.created]
    docs: list[IndexDoc] = [IndexDoc(asset=a) for a in bases]
    for i in range(len(bases), count):
        base = bases[i % len(bases)]
        clone = base.model_copy(
            update={
                "id": new_id(),
                "name": f"render-{i:05d}.png",
                "status": AssetStatus.READY,
                "tags": [f"batch-{i % 20}"],
            }
        )
        container.assets.manifests.create(clone)
        member = layout.sha_member_key(LARGE_WORKSPACE, clone.sha256, clone.id)
        container.store.put_bytes(member, b"")
        docs.append(IndexDoc(asset=clone))
        if len(docs) >= 1000:
            container.index.upsert(docs)
            docs = []
    if docs:
        container.index.upsert(docs)
    container.index.refresh()
    return time.perf_counter() - started


@contextmanager
def serving(container: Container) -> Iterator[str]:
    """uvicorn on a free loopback port in a thread; yields the base URL."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(container, run_indexer=False),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def first_results_ms(browser: Browser, base_url: str, key: str) -> float:
    """One cold page load (new context: no cache) with a session cookie already set."""
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT)  # type: ignore[arg-type]
    try:
        context.request.post("/v1/session", data={"api_key": key}).dispose()
        page = context.new_page()
        page.goto("/")
        page.wait_for_function(f"() => {FIRST_RESULTS}.length > 0", timeout=30_000)
        return float(page.evaluate(f"() => {FIRST_RESULTS}[0].startTime"))
    finally:
        context.close()


def scroll_run(
    browser: Browser, base_url: str, key: str, step: int, timeout_s: float
) -> dict[str, Any]:
    """Scroll the large library to its end; frame statistics and DOM size."""
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT)  # type: ignore[arg-type]
    try:
        context.request.post("/v1/session", data={"api_key": key}).dispose()
        page = context.new_page()
        page.goto("/")
        page.wait_for_function(f"() => {FIRST_RESULTS}.length > 0", timeout=30_000)
        raw: dict[str, Any] = page.evaluate(
            SCROLL_SCRIPT, {"step": step, "timeoutMs": timeout_s * 1000}
        )
    finally:
        context.close()
    frames = sorted(raw.pop("frames"))
    long_tasks = raw.pop("longTasks")
    missed = sum(max(0, round(f / FRAME_MS) - 1) for f in frames)
    return {
        **raw,
        "step_px": step,
        "frames": len(frames),
        "frame_ms": {
            "p50": pct(frames, 50),
            "p95": pct(frames, 95),
            "p99": pct(frames, 99),
            "max": round(frames[-1], 1) if frames else 0.0,
        },
        "dropped_frames_pct": round(100 * missed / max(1, len(frames) + missed), 2),
        "long_tasks": len(long_tasks),
        "long_task_ms_total": round(sum(long_tasks), 1),
        "reached_end": raw["loaded"] >= raw["total"],
    }


def pct(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(p / 100 * (len(sorted_values) - 1)))
    return round(sorted_values[index], 1)


def machine(browser_version: str) -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "chromium": browser_version,
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=10_000, help="size of the large library")
    parser.add_argument("--runs", type=int, default=5, help="cold loads per library")
    parser.add_argument("--step", type=int, default=120, help="pixels scrolled per frame")
    parser.add_argument("--scroll-timeout", type=float, default=240.0, help="seconds")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=Path("docs/results/ui.json"))
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        data_dir = Path(tmp) / "data"
        container = build(settings_for(data_dir))
        try:
            container.index.ensure()
            demo_count = len(load_samples(container.assets, Path(tmp) / "demo-samples").created)
            container.indexer.drain()
            build_s = build_large(container, Path(tmp) / "base", args.assets)
            print(f"built {args.assets} assets in {build_s:.1f} s")
            demo_key = container.keys.create(DEMO_WORKSPACE, "bench")
            large_key = container.keys.create(LARGE_WORKSPACE, "bench")
            with serving(container) as base_url, sync_playwright() as p:
                browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
                try:
                    first_results_ms(browser, base_url, demo_key)  # warm the server's caches
                    demo = [first_results_ms(browser, base_url, demo_key) for _ in range(args.runs)]
                    large = [
                        first_results_ms(browser, base_url, large_key) for _ in range(args.runs)
                    ]
                    scroll = scroll_run(
                        browser, base_url, large_key, args.step, args.scroll_timeout
                    )
                    version = browser.version
                finally:
                    browser.close()
        finally:
            container.close()

    result = {
        "machine": machine(version),
        "viewport": VIEWPORT,
        "build_large_library_s": round(build_s, 1),
        "first_results_ms": {
            "demo": {
                "assets": demo_count,
                "runs": [round(v) for v in demo],
                "median": round(statistics.median(demo)),
            },
            f"{args.assets}": {
                "runs": [round(v) for v in large],
                "median": round(statistics.median(large)),
            },
        },
        "scroll": {"assets": args.assets, **scroll},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
