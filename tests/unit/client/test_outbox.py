"""The durable outbox with a fake `send`: delivery, back-off, dead letters, resuming."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assetlens.client.outbox import (
    DeliveryPolicy,
    ItemState,
    Outbox,
    OutboxItem,
    Rejected,
    RetryLater,
)

FAST = DeliveryPolicy(base=0.01, cap=0.02)


class FakeServer:
    """Records every attempt; fails the first `failures` ones with `error`."""

    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or ConnectionError("connection refused")
        self.attempts: list[OutboxItem] = []
        self.received: list[bytes] = []

    def send(self, item: OutboxItem) -> str:
        self.attempts.append(item)
        if len(self.attempts) <= self.failures:
            raise self.error
        self.received.append(item.path.read_bytes())
        return f"asset-{len(self.received)}"


def test_an_item_is_delivered_with_its_fields_and_its_file_removed(tmp_path: Path) -> None:
    server = FakeServer()
    outbox = Outbox(tmp_path / "box", server.send, FAST)
    item_id = outbox.add(b"PNGDATA", "a.png", {"name": "a", "tags": ["x"]})
    assert outbox.pending() == 1
    assert outbox.flush(timeout=10)
    assert server.received == [b"PNGDATA"]
    sent = server.attempts[0]
    assert (sent.filename, sent.fields) == ("a.png", {"name": "a", "tags": ["x"]})
    status = outbox.status(item_id)
    assert status is not None
    assert (status.state, status.asset_id, status.attempts) == (ItemState.DELIVERED, "asset-1", 1)
    assert not sent.path.exists()
    outbox.close()


def test_failures_are_retried_with_the_same_key(tmp_path: Path) -> None:
    server = FakeServer(failures=3)
    outbox = Outbox(tmp_path / "box", server.send, FAST)
    item_id = outbox.add(b"data", "a.png", {})
    assert outbox.flush(timeout=30)
    assert len(server.attempts) == 4
    assert len({item.idempotency_key for item in server.attempts}) == 1
    status = outbox.status(item_id)
    assert status is not None and status.state is ItemState.DELIVERED
    outbox.close()


def test_a_refused_item_becomes_a_dead_letter_and_keeps_its_file(tmp_path: Path) -> None:
    server = FakeServer(failures=1, error=Rejected("422 Invalid input: not an image"))
    outbox = Outbox(tmp_path / "box", server.send, FAST)
    item_id = outbox.add(b"junk", "a.png", {})
    assert outbox.flush(timeout=10)  # nothing pending: dead letters are not retried
    assert len(server.attempts) == 1
    [dead] = outbox.dead_letters()
    assert (dead.id, dead.state) == (item_id, ItemState.DEAD)
    assert dead.last_error is not None and "not an image" in dead.last_error
    assert server.attempts[0].path.read_bytes() == b"junk"
    outbox.close()


def test_attempts_can_be_capped(tmp_path: Path) -> None:
    server = FakeServer(failures=100, error=RetryLater("503", retry_after=0.0))
    policy = DeliveryPolicy(base=0.01, cap=0.02, max_attempts=3)
    outbox = Outbox(tmp_path / "box", server.send, policy)
    outbox.add(b"data", "a.png", {})
    assert outbox.flush(timeout=30)
    assert len(server.attempts) == 3
    assert [d.attempts for d in outbox.dead_letters()] == [3]
    outbox.close()


def test_a_new_outbox_on_the_same_directory_delivers_what_was_left(tmp_path: Path) -> None:
    down = FakeServer(failures=1_000)
    first = Outbox(tmp_path / "box", down.send, DeliveryPolicy(base=60, cap=60))
    ids = [first.add(f"file {n}".encode(), f"{n}.png", {"n": n}) for n in range(3)]
    first.deliver_pending()  # one attempt fails; the others wait for the next pass
    first.close()
    up = FakeServer()
    second = Outbox(tmp_path / "box", up.send, FAST)
    assert second.pending() == 3
    # The failed item waits out its back-off; the others go at once.
    second.deliver_pending()
    assert sorted(up.received) == [b"file 1", b"file 2"]
    assert sorted(item.id for item in up.attempts) == sorted(ids[1:])
    waiting = second.status(ids[0])
    assert waiting is not None
    assert (waiting.state, waiting.attempts) == (ItemState.PENDING, 1)
    second.close()


def test_the_background_thread_delivers(tmp_path: Path) -> None:
    server = FakeServer(failures=2)
    outbox = Outbox(tmp_path / "box", server.send, FAST)
    outbox.start()
    outbox.add(b"data", "a.png", {})
    assert outbox.flush(timeout=30)
    assert server.received == [b"data"]
    outbox.close()


def test_a_file_that_cannot_be_read_records_nothing(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "box", FakeServer().send, FAST)
    with pytest.raises(OSError):
        outbox.add(tmp_path / "missing.png", "missing.png", {})
    assert outbox.pending() == 0
    assert list((tmp_path / "box" / "files").iterdir()) == []
    assert list((tmp_path / "box" / "tmp").iterdir()) == []
    outbox.close()


SENDER = """
import sys, time
from assetlens.client.outbox import DeliveryPolicy, Outbox

def send(item):
    print("sending", flush=True)
    time.sleep(600)  # killed here, mid-delivery
    return "never"

outbox = Outbox(sys.argv[1], send, DeliveryPolicy(lease=3600))
outbox.add(b"precious", "a.png", {})
outbox.deliver_pending()
"""


def test_an_item_a_killed_process_was_sending_is_sent_by_the_next(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    sender = subprocess.Popen(
        [sys.executable, "-c", SENDER, str(tmp_path / "box")],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert sender.stdout is not None
        assert sender.stdout.readline().strip() == "sending"
    finally:
        sender.kill()
        sender.wait(timeout=30)
    server = FakeServer()
    outbox = Outbox(tmp_path / "box", server.send, FAST)
    # Its hour-long lease died with it: no waiting it out.
    assert outbox.flush(timeout=30)
    assert server.received == [b"precious"]
    outbox.close()


def test_the_outbox_is_private(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "box", FakeServer().send, FAST)
    item_id = outbox.add(b"data", "a.png", {})
    assert (tmp_path / "box").stat().st_mode & 0o077 == 0
    assert (tmp_path / "box" / "files" / f"{item_id}.bin").stat().st_mode & 0o077 == 0
    outbox.close()


def test_a_server_that_is_down_is_not_tried_item_after_item(tmp_path: Path) -> None:
    server = FakeServer(failures=1_000)
    outbox = Outbox(tmp_path / "box", server.send, DeliveryPolicy(base=60, cap=60))
    for n in range(3):
        outbox.add(b"data", f"{n}.png", {})
    assert outbox.deliver_pending() == 0
    assert outbox.deliver_pending() == 0  # every item held back with the failed one
    assert len(server.attempts) == 1
    assert outbox.flush(timeout=0.2) is False
    assert len(server.attempts) == 1
    outbox.close()


def test_an_item_whose_file_is_gone_is_a_dead_letter_not_an_outage(tmp_path: Path) -> None:
    """A file removed from under the outbox can never be sent: that item is a dead letter
    at once, and the others are not held back as if the server were down."""
    server = FakeServer()
    outbox = Outbox(tmp_path / "box", server.send, DeliveryPolicy(base=60, cap=60))
    lost = outbox.add(b"gone", "0.png", {})
    kept = outbox.add(b"kept", "1.png", {})
    (tmp_path / "box" / "files" / f"{lost}.bin").unlink()
    assert outbox.deliver_pending() == 1
    assert server.received == [b"kept"]
    status = outbox.status(lost)
    assert status is not None and status.state is ItemState.DEAD
    assert status.last_error is not None and "file" in status.last_error
    assert outbox.pending() == 0
    assert outbox.status(kept) is not None
    outbox.close()


def test_a_failure_of_one_item_alone_does_not_hold_the_others_back(tmp_path: Path) -> None:
    server = FakeServer(failures=1, error=RetryLater("500 on this file", outage=False))
    outbox = Outbox(tmp_path / "box", server.send, DeliveryPolicy(base=60, cap=60))
    first = outbox.add(b"poison", "0.png", {})
    outbox.add(b"fine", "1.png", {})
    assert outbox.deliver_pending() == 1
    assert server.received == [b"fine"]
    status = outbox.status(first)
    assert status is not None and status.state is ItemState.PENDING
    outbox.close()


def test_a_closed_outbox_flushes_nothing_and_says_so(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "box", FakeServer().send, FAST)
    outbox.add(b"data", "a.png", {})
    outbox.close()
    assert outbox.flush() is False  # at once: no loop against a closed database
