"""WebP preview settings by measurement: encode time, bytes and fidelity (PSNR against the
resized source) of the 600 px and 150 px previews for each quality × method, on render-like
images. Single process; the chosen setting is in assetlens/media/previews.py.

    python -m benchmarks.bench_previews --n 12
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from assetlens.media.previews import PREVIEW_SIZES, fit
from benchmarks.render_corpus import render_files


def psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio of `b` against `a`, in dB."""
    diff = np.asarray(a, dtype=np.float32) - np.asarray(b.convert(a.mode), dtype=np.float32)
    mse = float(np.mean(diff**2))
    return 99.0 if mse == 0 else 10 * np.log10(255**2 / mse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--quality", type=int, nargs="+", default=[70, 75, 80, 85])
    parser.add_argument("--method", type=int, nargs="+", default=[0, 1, 2, 3, 4, 6])
    args = parser.parse_args()
    corpus = Path(tempfile.gettempdir()) / "assetlens-render-corpus"
    sources = []
    for path in render_files(corpus, args.n):
        with Image.open(path) as opened:
            medium = fit(opened.convert("RGB"), PREVIEW_SIZES["medium"])
            sources.append((medium, fit(medium, PREVIEW_SIZES["small"])))
    print(f"{len(sources)} render-like images, load average {os.getloadavg()[0]:.1f}")
    print("quality method  ms/image  cpu-ms/image  KiB/image  PSNR dB (600 px)")
    for quality in args.quality:
        for method in args.method:
            size = 0
            fidelity = []
            wall, cpu = time.perf_counter(), time.process_time()
            for medium, small in sources:
                for im in (medium, small):
                    buf = io.BytesIO()
                    im.save(buf, format="WEBP", quality=quality, method=method)
                    size += buf.tell()
                    if im is medium:
                        fidelity.append(psnr(medium, Image.open(buf)))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            n = len(sources)
            print(
                f"{quality:7d} {method:6d} {1000 * wall / n:9.1f} {1000 * cpu / n:13.1f} "
                f"{size / n / 1024:10.1f} {float(np.mean(fidelity)):17.2f}"
            )


if __name__ == "__main__":
    main()
