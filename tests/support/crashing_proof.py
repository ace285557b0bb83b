"""Stand-ins for `media.inspect_upload` that kill the worker process proving a file, as a
native decoder crash would (libwebp's CVE-2023-4863, a decoder's OOM). Module level, so
that they pickle to a `ProofPool`'s spawned workers."""

from __future__ import annotations

import io
import os
import signal
import time
from pathlib import Path

from PIL import Image, PngImagePlugin

from assetlens.media import Inspection, inspect_upload

#: Bytes that make `crash_on_marker` kill its worker (in a PNG's text chunk, say).
MARKER = b"CRASH-THE-DECODER"
#: While a file of this name lies beside the proven file, `hold_while_flagged` waits.
HOLD = "hold"


def crash_on_marker(path: Path, filename: str, *, max_image_pixels: int) -> Inspection:
    """`inspect_upload`, but a file holding MARKER kills the worker with SIGSEGV."""
    if MARKER in path.read_bytes():
        os.kill(os.getpid(), signal.SIGSEGV)
    return inspect_upload(path, filename, max_image_pixels=max_image_pixels)


def hang_on_marker(path: Path, filename: str, *, max_image_pixels: int) -> Inspection:
    """`inspect_upload`, but a file holding MARKER never finishes, as a decoder stuck in a
    loop would not."""
    if MARKER in path.read_bytes():
        while True:
            time.sleep(1)
    return inspect_upload(path, filename, max_image_pixels=max_image_pixels)


def hold_while_flagged(path: Path, filename: str, *, max_image_pixels: int) -> Inspection:
    """`inspect_upload`, after writing this worker's pid beside the file and waiting while
    a HOLD file lies there (so that a test can kill the worker from outside mid-proof)."""
    flag = path.parent / HOLD
    if flag.exists():
        (path.parent / f"pid-{os.getpid()}").write_text(str(os.getpid()))
    while flag.exists():
        time.sleep(0.01)
    return inspect_upload(path, filename, max_image_pixels=max_image_pixels)


def rendezvous(path: Path, filename: str, *, max_image_pixels: int) -> Inspection:
    """`inspect_upload`, once another worker has reached this point too (each leaves its
    pid beside the file), and then a `met-` file: two calls that met ran at the same time.
    Gives up after a minute, without `met-`, so that a pool that proves one file at a time
    fails its test instead of hanging it; the test asserts on the files left, not on time."""
    (path.parent / f"arrived-{os.getpid()}").touch()
    deadline = time.monotonic() + 60
    while len(list(path.parent.glob("arrived-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    if len(list(path.parent.glob("arrived-*"))) >= 2:
        (path.parent / f"met-{os.getpid()}").touch()
    return inspect_upload(path, filename, max_image_pixels=max_image_pixels)


def marked_png(colour: tuple[int, int, int] = (10, 20, 30)) -> bytes:
    """A good little PNG whose text chunk holds MARKER: only `crash_on_marker` minds it."""
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", MARKER.decode())
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()
