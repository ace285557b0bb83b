"""UsageService: buffered recording, batch flushes, folding into summaries (fake store)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from assetlens import layout
from assetlens.services.usage import UsageService
from assetlens.usage import Channel, StoredEvent, UsageBatch, UsageKind, UsageSummary
from tests.fakes import FakeObjectStore

WS, OTHER = "alpha", "beta"
A, B, C = "a" * 32, "b" * 32, "c" * 32
DAY1 = datetime(2026, 11, 30, 23, 59, tzinfo=UTC).timestamp()
DAY2 = datetime(2026, 12, 1, 0, 1, tzinfo=UTC).timestamp()
VIEW, DOWNLOAD = UsageKind.VIEW, UsageKind.DOWNLOAD


class Clock:
    def __init__(self, now: float = DAY1) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store() -> FakeObjectStore:
    return FakeObjectStore()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def usage(store: FakeObjectStore, clock: Clock) -> UsageService:
    # A flush interval far beyond any test: flushes happen only when a test asks.
    return UsageService(store, flush_seconds=3600, clock=clock)


def batches(store: FakeObjectStore, workspace: str = WS) -> list[str]:
    return list(store.list_keys(layout.usage_batch_prefix(workspace)))


def test_record_touches_no_store_until_a_flush(store: FakeObjectStore, usage: UsageService) -> None:
    store.down = True  # a store outage cannot fail (or slow) the request being counted
    usage.record(WS, A, VIEW, Channel.API)
    assert usage.pending() == 1
    store.down = False
    assert batches(store) == []
    assert usage.flush() == 1
    assert usage.pending() == 0
    assert len(batches(store)) == 1


def test_flush_writes_one_batch_per_workspace_and_day(
    store: FakeObjectStore, clock: Clock, usage: UsageService
) -> None:
    usage.record(WS, A, VIEW, Channel.API)
    usage.record(OTHER, A, VIEW, Channel.API)
    clock.now = DAY2
    usage.record(WS, B, DOWNLOAD, Channel.UI)
    usage.record(WS, A, VIEW, Channel.UI)
    assert usage.flush() == 4
    days = sorted(key.split("/")[2] for key in batches(store))
    assert days == ["2026-11-30", "2026-12-01"]
    assert len(batches(store, OTHER)) == 1
    (day2,) = [k for k in batches(store) if "2026-12-01" in k]
    batch = UsageBatch.model_validate_json(store.get_bytes(day2).data)
    assert [(e.asset_id, e.kind, e.channel) for e in batch.events] == [
        (B, DOWNLOAD, Channel.UI), (A, VIEW, Channel.UI),
    ]  # fmt: skip


def test_fold_counts_per_asset_channel_and_day_then_deletes_batches(
    store: FakeObjectStore, clock: Clock, usage: UsageService
) -> None:
    for asset_id, kind, channel in [(A, VIEW, Channel.API), (A, VIEW, Channel.UI),
                                    (B, VIEW, Channel.API), (B, DOWNLOAD, Channel.API),
                                    (C, DOWNLOAD, Channel.SIGNED_LINK)]:  # fmt: skip
        usage.record(WS, asset_id, kind, channel)
    clock.now = DAY2
    usage.record(WS, B, DOWNLOAD, Channel.UI)
    usage.record(OTHER, C, VIEW, Channel.API)
    summary = usage.summary(WS)
    assert summary.total(VIEW) == 3
    assert summary.total(DOWNLOAD) == 3
    assert summary.ranked(VIEW) == [(A, 2), (B, 1)]
    assert summary.ranked(DOWNLOAD) == [(B, 2), (C, 1)]
    assert summary.channels == {
        "view": {"api": 2, "ui": 1},
        "download": {"api": 1, "signed_link": 1, "ui": 1},
    }
    assert summary.days == {"2026-11-30": {"view": 3, "download": 2}, "2026-12-01": {"download": 1}}
    assert batches(store) == []
    # The other workspace's events are its own: folded separately, untouched here.
    assert len(batches(store, OTHER)) == 1
    assert usage.fold(OTHER).ranked(VIEW) == [(C, 1)]
    # Folding again with nothing new changes nothing.
    assert usage.summary(WS).ranked(VIEW) == [(A, 2), (B, 1)]


def test_a_batch_counted_but_not_deleted_is_never_counted_twice(
    store: FakeObjectStore, usage: UsageService
) -> None:
    """A fold that died after writing the summary and before deleting its batches."""
    usage.record(WS, A, VIEW, Channel.API)
    usage.flush()
    (key,) = batches(store)
    crashed = UsageSummary()
    crashed.add(UsageBatch.model_validate_json(store.get_bytes(key).data))
    crashed.folded = [key]
    store.put_bytes(layout.usage_summary_key(WS), crashed.model_dump_json().encode())
    usage.record(WS, B, VIEW, Channel.API)
    summary = usage.summary(WS)
    assert summary.ranked(VIEW) == [(A, 1), (B, 1)]
    assert batches(store) == []


def test_concurrent_folds_count_every_event_once(store: FakeObjectStore, clock: Clock) -> None:
    writers = [UsageService(store, flush_seconds=3600, clock=clock) for _ in range(4)]
    for round_ in range(5):
        for writer in writers:
            for _ in range(3):
                writer.record(WS, A, VIEW, Channel.API)
            writer.record(WS, B, DOWNLOAD, Channel.API)
            writer.flush()
        threads = [threading.Thread(target=w.fold, args=(WS,)) for w in writers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        summary = writers[0].fold(WS)
        assert summary.ranked(VIEW) == [(A, 12 * (round_ + 1))]
        assert summary.ranked(DOWNLOAD) == [(B, 4 * (round_ + 1))]
    assert batches(store) == []


def test_store_outage_during_flush_keeps_the_events(
    store: FakeObjectStore, usage: UsageService
) -> None:
    usage.record(WS, A, VIEW, Channel.API)
    usage.record(OTHER, A, VIEW, Channel.API)
    store.down = True
    assert usage.flush() == 0
    assert usage.pending() == 2
    store.down = False
    assert usage.flush() == 2
    assert usage.summary(WS).total(VIEW) == 1


def test_the_buffer_is_bounded(store: FakeObjectStore, clock: Clock) -> None:
    usage = UsageService(store, flush_seconds=3600, max_buffered=3, clock=clock)
    for _ in range(5):
        usage.record(WS, A, VIEW, Channel.API)
    assert usage.pending() == 3
    assert usage.summary(WS).total(VIEW) == 3


def test_record_never_raises_on_bad_input(usage: UsageService) -> None:
    usage.record(WS, A, "glance", Channel.API)  # type: ignore[arg-type]
    assert usage.pending() == 0


def test_malformed_batch_objects_are_skipped(store: FakeObjectStore, usage: UsageService) -> None:
    store.put_bytes(layout.usage_batch_key(WS, "2026-12-01", "f" * 32), b"{not json")
    usage.record(WS, A, VIEW, Channel.API)
    assert usage.summary(WS).ranked(VIEW) == [(A, 1)]
    assert batches(store) == []


def test_fold_if_due_runs_once_per_interval_across_workers(
    store: FakeObjectStore, clock: Clock
) -> None:
    first = UsageService(store, fold_interval_seconds=60, flush_seconds=3600, clock=clock)
    second = UsageService(store, fold_interval_seconds=60, flush_seconds=3600, clock=clock)
    first.record(WS, A, VIEW, Channel.API)
    second.record(OTHER, B, VIEW, Channel.API)
    second.flush()
    assert first.fold_if_due() == 2  # both workspaces, its own events flushed first
    assert second.fold_if_due() is None
    assert list(store.list_keys(layout.USAGE_PREFIX)) == []
    clock.now += 61
    assert second.fold_if_due() == 0
    assert first.read_summary(WS)[0].ranked(VIEW) == [(A, 1)]
    assert first.read_summary(OTHER)[0].ranked(VIEW) == [(B, 1)]


def test_close_flushes_what_is_buffered(store: FakeObjectStore, usage: UsageService) -> None:
    usage.record(WS, A, DOWNLOAD, Channel.SIGNED_LINK)
    usage.close()
    assert len(batches(store)) == 1


def test_the_flusher_thread_writes_without_being_asked(store: FakeObjectStore) -> None:
    usage = UsageService(store, flush_seconds=0.01)
    usage.record(WS, A, VIEW, Channel.API)
    for _ in range(500):
        if batches(store):
            break
        threading.Event().wait(0.01)
    assert len(batches(store)) == 1
    usage.close()


def test_summary_keeps_a_bounded_number_of_days() -> None:
    summary = UsageSummary()
    start = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    events = [
        StoredEvent(asset_id=A, kind=VIEW, channel=Channel.API, at=start + d * 86400)
        for d in range(410)
    ]
    summary.add(UsageBatch(events=events))
    assert len(summary.days) == 400
    assert min(summary.days) == "2024-01-11"
    assert summary.ranked(VIEW) == [(A, 410)]
