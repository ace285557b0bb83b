"""The upload proof in worker processes (`ProofPool`): the in-process verdicts, a file that
kills its worker twice refused alone, a worker killed once not refusing its file, dead
workers replaced, and files proven in parallel up to the pool's size."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from assetlens.errors import AssetlensError
from assetlens.media import Inspection, inspect_upload
from assetlens.media.proofs import UNSAFE, ProofPool, ProofTimedOut, UndecodableUpload
from tests.support.crashing_proof import (
    HOLD,
    crash_on_marker,
    hang_on_marker,
    hold_while_flagged,
    marked_png,
    rendezvous,
)

PIXELS = 64_000_000


def _png(folder: Path, name: str, colour: tuple[int, int, int] = (60, 20, 200)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    Image.new("RGB", (64, 48), colour).save(path, format="PNG")
    return path


@pytest.fixture
def crashing() -> Iterator[ProofPool]:
    pool = ProofPool(2, crash_on_marker)
    yield pool
    pool.close()


def test_a_file_that_kills_its_worker_twice_is_refused_and_the_pool_goes_on(
    tmp_path: Path, crashing: ProofPool, caplog: pytest.LogCaptureFixture
) -> None:
    poison = tmp_path / "secret-name.png"
    poison.write_bytes(marked_png())
    good = _png(tmp_path, "good.png")

    with caplog.at_level(logging.WARNING), pytest.raises(UndecodableUpload) as refused:
        crashing.prove(poison, poison.name, max_image_pixels=PIXELS)

    assert refused.value.status == 422
    assert refused.value.detail == UNSAFE
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # the death, the retry's death
    assert not any("secret-name" in w or str(tmp_path) in w for w in warnings)
    # The dead workers were replaced: the next file is proven as in the process.
    assert crashing.prove(good, good.name, max_image_pixels=PIXELS) == inspect_upload(
        good, good.name, max_image_pixels=PIXELS
    )


def test_refusals_come_back_from_the_worker_as_in_the_process(
    tmp_path: Path, crashing: ProofPool
) -> None:
    good = _png(tmp_path, "good.png")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:-30])
    named_wrong = tmp_path / "named.jpg"
    named_wrong.write_bytes(good.read_bytes())
    for path in (truncated, named_wrong):
        with pytest.raises(AssetlensError) as here:
            inspect_upload(path, path.name, max_image_pixels=PIXELS)
        with pytest.raises(AssetlensError) as there:
            crashing.prove(path, path.name, max_image_pixels=PIXELS)
        assert (type(there.value), there.value.status, there.value.detail) == (
            type(here.value),
            here.value.status,
            here.value.detail,
        )
    with pytest.raises(FileNotFoundError):
        crashing.prove(tmp_path / "gone.png", "gone.png", max_image_pixels=PIXELS)


def test_a_crash_beside_an_innocent_proof_refuses_only_the_crashing_file(
    tmp_path: Path, crashing: ProofPool
) -> None:
    poison = tmp_path / "poison.png"
    poison.write_bytes(marked_png())
    goods = [_png(tmp_path / str(n), "good.png", (n * 40, 10, 10)) for n in range(6)]
    outcomes: dict[str, Inspection | Exception] = {}

    def prove(path: Path, key: str) -> None:
        try:
            outcomes[key] = crashing.prove(path, path.name, max_image_pixels=PIXELS)
        except Exception as exc:
            outcomes[key] = exc

    threads = [threading.Thread(target=prove, args=(path, str(n))) for n, path in enumerate(goods)]
    threads.insert(3, threading.Thread(target=prove, args=(poison, "poison")))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert isinstance(outcomes.pop("poison"), UndecodableUpload)
    assert all(isinstance(outcome, Inspection) for outcome in outcomes.values())
    assert len(outcomes) == 6


def test_a_worker_killed_from_outside_once_does_not_refuse_its_file(tmp_path: Path) -> None:
    good = _png(tmp_path, "good.png")
    (tmp_path / HOLD).touch()
    pool = ProofPool(1, hold_while_flagged)
    outcome: list[Inspection | Exception] = []

    def prove() -> None:
        try:
            outcome.append(pool.prove(good, good.name, max_image_pixels=PIXELS))
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=prove)
    try:
        thread.start()
        pid = _wait_for_pid(tmp_path)
        os.kill(pid, signal.SIGKILL)  # as the OOM killer or an operator would
        (tmp_path / HOLD).unlink()
        thread.join()
    finally:
        (tmp_path / HOLD).unlink(missing_ok=True)
        thread.join()
        pool.close()
    assert outcome == [inspect_upload(good, good.name, max_image_pixels=PIXELS)]


def _wait_for_pid(folder: Path) -> int:
    event = threading.Event()
    for _ in range(6000):  # a minute: the worker's start and its first call
        found = list(folder.glob("pid-*"))
        if found:
            return int(found[0].read_text())
        event.wait(0.01)
    raise AssertionError("the worker never started proving the file")


def test_files_are_proven_in_parallel_up_to_the_pool_size(tmp_path: Path) -> None:
    paths = [_png(tmp_path / "meet", f"{n}.png", (n, 90, 90)) for n in range(2)]
    pool = ProofPool(2, rendezvous)
    results: list[Inspection] = []
    try:
        threads = [
            threading.Thread(
                target=lambda p=path: results.append(pool.prove(p, p.name, max_image_pixels=PIXELS))
            )
            for path in paths
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        pool.close()
    # Each call waited at the rendezvous until the other reached it: two workers at once.
    assert len(list((tmp_path / "meet").glob("met-*"))) == 2
    assert len(results) == 2


def test_a_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError):
        ProofPool(0)


def test_a_proof_past_the_time_limit_is_refused_and_its_worker_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pool = ProofPool(1, hang_on_marker, timeout=1.0)
    try:
        stuck = tmp_path / "stuck.png"
        stuck.write_bytes(marked_png())
        good = _png(tmp_path, "good.png")
        pool.start()
        with caplog.at_level(logging.WARNING), pytest.raises(ProofTimedOut) as refused:
            pool.prove(stuck, stuck.name, max_image_pixels=PIXELS)
        assert refused.value.status == 422
        assert "within 1 s" in refused.value.detail
        assert any("past 1 s" in r.getMessage() for r in caplog.records)
        # The one worker was stuck: only a replacement can prove the next file.
        expected = inspect_upload(good, good.name, max_image_pixels=PIXELS)
        assert pool.prove(good, good.name, max_image_pixels=PIXELS) == expected
    finally:
        pool.close()


def test_a_time_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="time limit"):
        ProofPool(1, timeout=0)
