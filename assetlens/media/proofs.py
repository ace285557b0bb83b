"""The upload proof (`media.inspect_upload`: sniff, header limits, the pixel proof) run in
worker processes, so that a file which crashes a native decoder (libwebp's CVE-2023-4863 was
one; a decoder's OOM is another) takes down a worker and refuses that file, never the API
server or the `assetlens ingest` run (docs/INGEST.md, "Where the proof runs").

Each worker is one spawned process with its own pipe, handed one call at a time: a worker
that dies takes only the call it held with it (unlike a `ProcessPoolExecutor`, whose every
call in flight breaks with it), so the innocent uploads proving beside a crashing one carry
on. The call it held runs once more in a fresh worker (a worker killed from outside must not
refuse the file it held); a second death refuses the file.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import tempfile
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Final

from PIL import Image

from assetlens.errors import InvalidInput, Unavailable, UnsupportedMediaType
from assetlens.media.images import EMBED_SHORT_SIDE
from assetlens.media.pool import ignore_interrupts
from assetlens.media.previews import fit_short_side
from assetlens.media.results import Inspection
from assetlens.media.validate import inspect_upload

log = logging.getLogger(__name__)

#: `media.inspect_upload`'s signature: what a worker runs (module level, so it pickles).
ProveFn = Callable[..., Inspection]

UNSAFE: Final = "the file could not be decoded safely"
#: How long one proof may take by default: a proof within the pixel budget takes seconds at
#: most, even on a loaded machine; a decoder stuck in a loop would hold its worker forever.
PROOF_TIMEOUT: Final = 60.0


class UndecodableUpload(InvalidInput):
    """The proof's worker process died on this file twice (a decoder crash, out of memory):
    422 like any file that does not decode, with nothing of the file's in the message."""

    def __init__(self, detail: str = UNSAFE) -> None:
        super().__init__(detail)


class ProofTimedOut(UndecodableUpload):
    """The proof of this file ran past the pool's time limit: its worker was killed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the file could not be decoded within {seconds:g} s")


class InProcessProver:
    """The proof in the calling process: unit tests, and `ASSETLENS_PROOF_WORKERS=0`."""

    def prove(self, path: Path, filename: str, *, max_image_pixels: int) -> Inspection:
        return inspect_upload(path, filename, max_image_pixels=max_image_pixels)

    def query_image(self, path: Path, filename: str, *, max_image_pixels: int) -> Image.Image:
        return query_image(path, filename, max_image_pixels=max_image_pixels)

    def start(self) -> None:
        """Nothing to start."""

    def close(self) -> None:
        """Nothing to stop."""


def _warm_up() -> None:
    """A tiny PNG and JPEG proven, so that what the proof loads on first use (Pillow's
    plugins, the inflate) is loaded before the first upload waits on it."""
    with tempfile.TemporaryDirectory(prefix="assetlens-proof-") as folder:
        for name, kind in (("warm.png", "PNG"), ("warm.jpg", "JPEG")):
            path = Path(folder) / name
            Image.new("RGB", (16, 16), (90, 120, 150)).save(path, format=kind)
            inspect_upload(path, name, max_image_pixels=1 << 20)


def query_image(
    path: Path, filename: str, *, max_image_pixels: int, prove: ProveFn = inspect_upload
) -> Image.Image:
    """Search by image's query: proven like an upload (by `prove`), a raster image only,
    its first frame in RGB scaled to the embedder's input size (the embedder scales it
    there anyway; small, it comes back from a worker process cheaply)."""
    inspection = prove(path, filename, max_image_pixels=max_image_pixels)
    if inspection.mime == "image/svg+xml":
        raise UnsupportedMediaType("search by image takes a raster image")
    with Image.open(path, formats=["PNG", "JPEG", "WEBP", "GIF"]) as image:
        with contextlib.suppress(EOFError):
            image.seek(0)
        return fit_short_side(image.convert("RGB"), EMBED_SHORT_SIDE)


def _serve(conn: Connection) -> None:
    """A worker's loop: warmed up, it says so, then runs one call at a time (a module-level
    function, pickled by name, and its arguments) until the parent sends None or goes
    away."""
    ignore_interrupts()  # a worker killed by Ctrl-C would look like a crash on its file
    _warm_up()
    conn.send(True)
    while True:
        try:
            call = conn.recv()
        except (EOFError, OSError):
            return
        except Exception as exc:  # a call this process cannot unpickle: not the file's fault
            conn.send((False, RuntimeError(f"the proof worker could not read its call: {exc}")))
            continue
        if call is None:
            return
        fn, args, kwargs = call
        try:
            reply: tuple[bool, Any] = (True, fn(*args, **kwargs))
        except Exception as exc:  # the refusal (or any error) goes back as a value
            reply = (False, exc)
        try:
            conn.send(reply)
        except Exception:  # an exception that does not pickle
            conn.send((False, RuntimeError(f"{type(reply[1]).__name__}: {reply[1]}")))


class _Worker:
    """One spawned process and the parent's end of its pipe."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process: BaseProcess = context.Process(
            target=_serve, args=(child,), name="assetlens-proof", daemon=True
        )
        self.process.start()
        child.close()  # so that the worker sees EOF when this process goes

    def wait_ready(self) -> None:
        """Wait for the worker's warm-up; Unavailable when it died first."""
        try:
            self.conn.recv()  # ready
        except (EOFError, OSError) as exc:
            self.process.join(timeout=5)
            self.conn.close()
            raise Unavailable(
                "the upload proof's worker process could not start "
                f"(exit code {self.process.exitcode})"
            ) from exc

    def call(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], timeout: float
    ) -> tuple[bool, Any] | None:
        """The worker's reply; None when none came within `timeout` seconds; EOFError (or
        OSError) when it died on the way."""
        self.conn.send((fn, args, kwargs))
        if not self.conn.poll(timeout):
            return None
        reply: tuple[bool, Any] = self.conn.recv()
        return reply

    def exit_code(self) -> int | None:
        self.process.join(timeout=5)
        return self.process.exitcode

    def kill(self) -> None:
        self.process.kill()
        self.process.join()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.kill()
        self.conn.close()


class ProofPool:
    """`fn` (`inspect_upload`, or a stand-in at module level in tests) in up to `workers`
    spawned processes, started when first needed (or by `start`) and replaced when one
    dies. Call `prove` from any number of threads: at most `workers` files are proven at
    once, the others wait for a worker."""

    def __init__(
        self, workers: int, fn: ProveFn = inspect_upload, *, timeout: float = PROOF_TIMEOUT
    ) -> None:
        if workers < 1:
            raise ValueError("a proof pool needs at least one worker")
        if timeout <= 0:
            raise ValueError("a proof's time limit must be positive")
        self._workers = workers
        self._fn = fn
        self._timeout = timeout
        self._ready = threading.Condition()
        self._idle: list[_Worker] = []
        self._live = 0  # idle, busy or being started
        self._closed = False

    @property
    def workers(self) -> int:
        return self._workers

    def prove(self, path: Path, filename: str, *, max_image_pixels: int) -> Inspection:
        """`fn(path, filename, max_image_pixels=…)`'s verdict from a worker: its Inspection,
        or its refusal raised here; UndecodableUpload when a worker died on it twice."""
        result: Inspection = self._call(
            self._fn, (path, filename), {"max_image_pixels": max_image_pixels}
        )
        return result

    def query_image(self, path: Path, filename: str, *, max_image_pixels: int) -> Image.Image:
        """`query_image` (with this pool's proof) in a worker, as `prove`."""
        image: Image.Image = self._call(
            query_image, (path, filename), {"max_image_pixels": max_image_pixels, "prove": self._fn}
        )
        return image

    def _call(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """`fn(*args, **kwargs)`'s result from a worker, or its exception raised here; a
        worker that dies on it is replaced and the call made once more, and a second death
        is UndecodableUpload. A call past the time limit (a decoder stuck in a loop) kills
        its worker and is ProofTimedOut, without a second try: it would only hang again."""
        for attempt in (1, 2):
            worker = self._take()
            try:
                reply = worker.call(fn, args, kwargs, self._timeout)
            except (EOFError, OSError):
                code = worker.exit_code()
                self._lost(worker)
                # No file name: in a server it is the client's, in a log it is not ours to keep.
                log.warning(
                    "a proof worker died on an upload (exit code %s); %s",
                    code,
                    "trying it once more" if attempt == 1 else "the file is refused",
                )
                continue
            except BaseException:
                # Interrupted mid-call: a reply may still come, so no other call gets it.
                worker.kill()
                self._lost(worker)
                raise
            if reply is None:
                worker.kill()
                self._lost(worker)
                log.warning("a proof ran past %g s; its worker was stopped", self._timeout)
                raise ProofTimedOut(self._timeout)
            self._give_back(worker)
            ok, value = reply
            if ok:
                return value
            raise value
        raise UndecodableUpload()

    def start(self) -> None:
        """Start every worker now and wait until each is warmed up (a fresh interpreter
        importing the proof's modules, a few tenths of a CPU-second), so that no upload
        waits for one. Unavailable when one cannot start."""
        with self._ready:
            wanted = 0 if self._closed else self._workers - self._live
            self._live += wanted
        starting = []
        try:
            for _ in range(wanted):  # all started first, so that they warm up together
                starting.append(_Worker())
        finally:
            for _ in range(wanted - len(starting)):
                self._lost(None)
        failed: Unavailable | None = None
        for worker in starting:
            try:
                worker.wait_ready()
            except Unavailable as exc:
                self._lost(None)
                failed = exc
                continue
            self._give_back(worker)
        if failed is not None:
            raise failed

    def close(self) -> None:
        """Stop the idle workers, and the busy ones as they come back."""
        with self._ready:
            self._closed = True
            idle, self._idle = self._idle, []
            self._live -= len(idle)
            self._ready.notify_all()
        for worker in idle:
            worker.stop()

    def _take(self) -> _Worker:
        with self._ready:
            while not self._idle and self._live >= self._workers:
                self._ready.wait()
            if self._idle:
                return self._idle.pop()
            self._live += 1
            self._closed = False  # a call after close starts the pool again
        return self._spawn()

    def _spawn(self) -> _Worker:
        try:
            worker = _Worker()
            worker.wait_ready()
            return worker
        except BaseException:
            self._lost(None)
            raise

    def _give_back(self, worker: _Worker) -> None:
        with self._ready:
            if not self._closed:
                self._idle.append(worker)
                self._ready.notify()
                return
            self._live -= 1
        worker.stop()

    def _lost(self, worker: _Worker | None) -> None:
        if worker is not None:
            worker.conn.close()
        with self._ready:
            self._live -= 1
            self._ready.notify()
