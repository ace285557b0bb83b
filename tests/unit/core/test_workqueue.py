"""The durable queue over conditional writes: leases, coalescing, at-least-once."""

from __future__ import annotations

import logging
import threading

import pytest

from assetlens import layout
from assetlens.workqueue import WorkQueue
from tests.fakes import CheckThenDeleteStore, FakeObjectStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_queue(lease: float = 10.0) -> tuple[WorkQueue, FakeObjectStore, Clock]:
    store, clock = FakeObjectStore(), Clock()
    return WorkQueue(store, lease_seconds=lease, clock=clock), store, clock


def test_enqueue_claim_ack_empties_the_queue() -> None:
    queue, _, _ = make_queue()
    queue.enqueue("ws", "a" * 32)
    items = queue.claim(10)
    assert [(i.workspace, i.asset_id) for i in items] == [("ws", "a" * 32)]
    queue.ack(items[0])
    assert queue.pending() == 0
    assert queue.claim(10) == []


def test_repeated_enqueues_coalesce_into_one_item() -> None:
    queue, _, _ = make_queue()
    for _ in range(5):
        queue.enqueue("ws", "b" * 32)
    assert queue.pending() == 1


def test_leased_item_is_not_claimed_twice_until_the_lease_expires() -> None:
    queue, _, clock = make_queue(lease=10)
    queue.enqueue("ws", "c" * 32)
    first = queue.claim(10)
    assert len(first) == 1
    assert queue.claim(10) == []  # a second worker sees nothing
    clock.now += 11  # the first worker died: its lease runs out
    again = queue.claim(10)
    assert [i.asset_id for i in again] == ["c" * 32]
    # the dead worker's late ack must not delete the item the second worker holds
    queue.ack(first[0])
    assert queue.pending() == 1
    queue.ack(again[0])
    assert queue.pending() == 0


def test_enqueue_during_processing_survives_the_ack() -> None:
    queue, _, _ = make_queue()
    queue.enqueue("ws", "d" * 32)
    [item] = queue.claim(1)
    queue.enqueue("ws", "d" * 32)  # the asset changed while it was being indexed
    assert queue.claim(1) == []  # still leased: not processed twice concurrently
    queue.ack(item)
    assert [i.asset_id for i in queue.claim(1)] == ["d" * 32]


def test_retry_delays_and_counts_attempts() -> None:
    queue, _, clock = make_queue()
    queue.enqueue("ws", "e" * 32)
    [item] = queue.claim(1)
    queue.retry(item, delay=30)
    assert queue.claim(1) == []
    clock.now += 31
    [again] = queue.claim(1)
    assert item.attempts == 1
    assert again.attempts == 2


def test_a_worker_dying_on_an_item_uses_up_an_attempt() -> None:
    queue, _, clock = make_queue(lease=10)
    queue.enqueue("ws", "f" * 32)
    assert queue.claim(1)[0].attempts == 1
    clock.now += 11  # killed: never acked, never retried
    assert queue.claim(1)[0].attempts == 2
    queue.enqueue("ws", "f" * 32)  # a new change starts the count again
    clock.now += 11
    assert queue.claim(1)[0].attempts == 1


def test_concurrent_workers_claim_each_item_exactly_once() -> None:
    queue, _, _ = make_queue(lease=600)
    ids = [f"{n:032x}" for n in range(60)]
    for asset_id in ids:
        queue.enqueue("ws", asset_id)
    claimed: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        while items := queue.claim(3):
            with lock:
                claimed.extend(i.asset_id for i in items)
            for item in items:
                queue.ack(item)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == ids
    assert queue.pending() == 0


CORRUPT = [b"{not json", b"[1, 2]", b'{"workspace": "ws"}', b"\xff\xfe"]


def test_an_unreadable_item_is_claimed_as_a_fresh_enqueue(caplog: pytest.LogCaptureFixture) -> None:
    """A torn or foreign queue object neither stops claim() at its key nor loses the asset:
    it is replaced (by compare-and-swap) with a fresh item and claimed like one."""
    for n, data in enumerate(CORRUPT):
        queue, store, _ = make_queue()
        broken, good = f"{n}" * 32, "f" * 32
        store.put_bytes(layout.queue_key("ws", broken), data)
        queue.enqueue("ws", good)
        with caplog.at_level(logging.WARNING, logger="assetlens.workqueue"):
            items = queue.claim(10)
        assert sorted((i.workspace, i.asset_id, i.attempts) for i in items) == sorted(
            [("ws", broken, 1), ("ws", good, 1)]
        )
        assert "unreadable" in caplog.text
        for item in items:
            queue.ack(item)
        assert queue.pending() == 0
        assert queue.snapshot().depth == 0


def test_enqueue_replaces_an_unreadable_item() -> None:
    for data in CORRUPT:
        queue, store, _ = make_queue()
        store.put_bytes(layout.queue_key("ws", "c" * 32), data)
        assert queue.attempts("ws", "c" * 32) == (0, 0.0)
        queue.enqueue("ws", "c" * 32)
        assert queue.pending() == 1
        assert queue.attempts("ws", "c" * 32) == (0, 0.0)
        (item,) = queue.claim(10)
        assert (item.workspace, item.asset_id) == ("ws", "c" * 32)


def test_ack_says_whether_it_deleted_the_item() -> None:
    """True only when the item went: the caller can then check that no change that came
    meanwhile went with it (a store whose conditional delete is not atomic loses it)."""
    queue, _, _ = make_queue()
    queue.enqueue("ws", "g" * 32)
    [item] = queue.claim(1)
    assert queue.ack(item) is True
    queue.enqueue("ws", "g" * 32)
    [again] = queue.claim(1)
    queue.enqueue("ws", "g" * 32)  # changed while it was indexed: released, not deleted
    assert queue.ack(again) is False
    assert queue.pending() == 1


def test_an_enqueue_inside_a_check_then_delete_ack_is_deleted_with_the_item() -> None:
    """What the indexer has to cover (`ack_indexed`): on MinIO the ack checks the ETag, then
    deletes unconditionally, so an enqueue landing between the two is gone."""
    store = CheckThenDeleteStore(layout.QUEUE_PREFIX)
    queue = WorkQueue(store, clock=Clock())
    queue.enqueue("ws", "h" * 32)
    [item] = queue.claim(1)
    store.between_check_and_delete = lambda _key: queue.enqueue("ws", "h" * 32)
    assert queue.ack(item) is True
    assert queue.pending() == 0
