"""The idempotency service: expiry, claims left by killed requests, released failures."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from assetlens import layout
from assetlens.bootstrap import Container
from assetlens.domain import Asset, new_id, utcnow
from assetlens.errors import (
    Conflict,
    InvalidInput,
    PreconditionFailed,
    StoreUnavailable,
    Unavailable,
)
from assetlens.services.asset_inputs import UploadForm
from assetlens.services.assets import Submitted
from assetlens.services.idempotency import IdempotencyService
from assetlens.services.idempotency_records import (
    IdempotencyRecord,
    parse_key,
    upload_fingerprint,
)
from assetlens.services.versions import VersionService
from assetlens.spool import Spooled, spool_file
from assetlens.versions import VersionRecord


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def _spooled(tmp_path: Path, shade: int) -> Spooled:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (shade, 40, 50)).save(buffer, format="PNG")
    buffer.seek(0)
    return spool_file(buffer, tmp_path, "a.png", 1 << 20)


def _service(container: Container, clock: Clock, **overrides: float) -> IdempotencyService:
    settings = container.settings.model_copy(update=overrides)
    return IdempotencyService(settings, container.store, container.assets, clock=clock)


def test_an_expired_key_runs_the_request_again(container: Container, tmp_path: Path) -> None:
    clock = Clock()
    service = _service(container, clock)
    spooled = _spooled(tmp_path, 1)
    first = service.upload("alpha", "k1", spooled, UploadForm())
    assert service.upload("alpha", "k1", spooled, UploadForm()).replayed
    clock.now += timedelta(seconds=container.settings.idempotency_ttl_seconds + 1)
    later = service.upload("alpha", "k1", spooled, UploadForm(name="other.png"))
    assert not later.replayed
    assert later.asset.id != first.asset.id


def test_a_claim_in_progress_is_a_conflict_and_a_stale_one_is_taken_over(
    container: Container,
) -> None:
    clock = Clock()
    service = _service(container, clock, idempotency_wait_seconds=0.0)
    key = layout.idempotency_key("alpha", "k2")
    pending = IdempotencyRecord(fingerprint="f", created_at=clock.now, claimed_at=clock.now)
    container.store.put_bytes(key, pending.model_dump_json().encode(), create_only=True)
    made: list[str] = []

    def action(planned: str | None) -> Submitted:
        made.append("x")
        raise InvalidInput("stop here")

    def result(made: Submitted) -> dict[str, object]:
        return {"asset_id": made.asset.id}

    def replay(record: IdempotencyRecord) -> Submitted:
        raise AssertionError("nothing was made to replay")

    with pytest.raises(Conflict) as busy:
        service.run("alpha", "k2", "f", action, result, replay)
    assert busy.value.headers["Retry-After"] == "1"
    assert made == []
    clock.now += timedelta(seconds=container.settings.idempotency_claim_seconds + 1)
    with pytest.raises(InvalidInput):
        service.run("alpha", "k2", "f", action, result, replay)
    assert made == ["x"]
    # The failed request released the key: nothing is left to replay or wait for.
    assert not container.store.exists(key)


def test_a_reused_key_is_refused_without_running(container: Container, tmp_path: Path) -> None:
    service = _service(container, Clock())
    service.upload("alpha", "k3", _spooled(tmp_path, 2), UploadForm())
    with pytest.raises(InvalidInput, match="different request"):
        service.upload("alpha", "k3", _spooled(tmp_path, 3), UploadForm())


@pytest.mark.parametrize("raw", ["", "x" * 256, "é", "a\nb", "\x00"])
def test_malformed_keys(raw: str) -> None:
    with pytest.raises(InvalidInput):
        parse_key(raw)


def test_well_formed_keys() -> None:
    assert parse_key(None) is None
    assert parse_key("x" * 255) == "x" * 255
    assert parse_key("a b~!") == "a b~!"


def test_the_sweep_removes_expired_records_only(container: Container, tmp_path: Path) -> None:
    clock = Clock()
    service = _service(container, clock)
    service.upload("alpha", "old", _spooled(tmp_path, 4), UploadForm())
    stuck = IdempotencyRecord(fingerprint="f", created_at=clock.now, claimed_at=clock.now)
    running_key = layout.idempotency_key("alpha", "running")
    clock.now += timedelta(seconds=container.settings.idempotency_ttl_seconds + 1)
    service.upload("alpha", "new", _spooled(tmp_path, 5), UploadForm())
    # A claim made before the TTL but renewed (taken over) just now: its request runs.
    container.store.put_bytes(
        running_key, stuck.model_copy(update={"claimed_at": clock.now}).model_dump_json().encode()
    )
    assert service.sweep_expired() == 1
    assert not container.store.exists(layout.idempotency_key("alpha", "old"))
    assert container.store.exists(layout.idempotency_key("alpha", "new"))
    assert container.store.exists(running_key)
    assert service.sweep_if_due() == 0  # its turn: nothing left to remove
    assert service.sweep_if_due() is None  # at most one turn per interval


def test_a_claim_whose_request_died_after_making_the_asset_replays_it(
    container: Container, tmp_path: Path
) -> None:
    clock = Clock()
    service = _service(container, clock)
    spooled = _spooled(tmp_path, 6)
    made = service.upload("alpha", "k6", spooled, UploadForm(name="n.png"))
    # As if the process died after storing the asset, before completing the record.
    key = layout.idempotency_key("alpha", "k6")
    record = IdempotencyRecord.model_validate_json(container.store.get_bytes(key).data)
    assert record.planned_asset_id == made.asset.id
    container.store.put_bytes(
        key, record.model_copy(update={"asset_id": None}).model_dump_json().encode()
    )
    clock.now += timedelta(seconds=container.settings.idempotency_claim_seconds + 1)
    again = service.upload("alpha", "k6", spooled, UploadForm(name="n.png"))
    assert again.replayed
    assert again.asset.id == made.asset.id
    members = list(container.store.list_keys(layout.sha_member_prefix("alpha", spooled.sha256)))
    assert len(members) == 1


def test_a_taken_over_claim_makes_the_asset_it_planned(
    container: Container, tmp_path: Path
) -> None:
    """A request that takes over a stale claim creates the claim's planned asset id, so
    the first request — if it was only slow — cannot make a second asset beside it."""
    clock = Clock()
    service = _service(container, clock)
    spooled = _spooled(tmp_path, 7)
    fingerprint = upload_fingerprint(
        "upload", UploadForm(), sha256=spooled.sha256, filename=spooled.filename
    )
    planned = new_id()
    stale = IdempotencyRecord(
        fingerprint=fingerprint,
        created_at=clock.now,
        claimed_at=clock.now,
        planned_asset_id=planned,
    )
    key = layout.idempotency_key("alpha", "k7")
    container.store.put_bytes(key, stale.model_dump_json().encode(), create_only=True)
    clock.now += timedelta(seconds=container.settings.idempotency_claim_seconds + 1)
    taken_over = service.upload("alpha", "k7", spooled, UploadForm())
    assert taken_over.asset.id == planned
    # The slow first request, finishing now, makes nothing new: its id is taken.
    with pytest.raises(PreconditionFailed):
        container.assets.submit("alpha", spooled, UploadForm(asset_id=planned))
    assert service.upload("alpha", "k7", spooled, UploadForm()).asset.id == planned


def test_a_request_that_fails_after_making_its_asset_keeps_the_key(
    container: Container, tmp_path: Path
) -> None:
    """An error after the asset is durable (say the store's answer to the manifest write
    was lost) must not release the key: the request answers the asset it made, and a
    retry replays that asset rather than making a second one."""
    clock = Clock()
    service = _service(container, clock)
    spooled = _spooled(tmp_path, 8)
    fingerprint = upload_fingerprint(
        "upload", UploadForm(), sha256=spooled.sha256, filename=spooled.filename
    )
    made: list[str] = []

    def action(planned: str | None) -> Submitted:
        assert planned is not None
        made.append(
            container.assets.submit("alpha", spooled, UploadForm(asset_id=planned)).asset.id
        )
        raise Unavailable("the answer to the manifest write was lost")

    def result(submitted: Submitted) -> dict[str, object]:
        raise AssertionError("the action never returned")

    def replay(record: IdempotencyRecord) -> Submitted:
        assert record.asset_id is not None
        return Submitted(container.assets.get("alpha", record.asset_id), replayed=True)

    first = service.run(
        "alpha", "k8", fingerprint, action, result, replay, planned_asset_id=new_id()
    )
    assert [first.asset.id] == made
    retried = service.upload("alpha", "k8", spooled, UploadForm())
    assert retried.replayed
    assert [retried.asset.id] == made
    members = list(container.store.list_keys(layout.sha_member_prefix("alpha", spooled.sha256)))
    assert len(members) == 1


class LostAnswer(VersionService):
    """Versions whose upload is made, and then fails as if the store's answer was lost."""

    def upload(
        self, workspace: str, asset_id: str, spooled: Spooled, change_description: str = ""
    ) -> tuple[Asset, VersionRecord]:
        super().upload(workspace, asset_id, spooled, change_description)
        raise StoreUnavailable("the answer to the manifest write was lost")


def test_a_new_version_made_before_its_request_failed_is_not_made_twice(
    container: Container, tmp_path: Path
) -> None:
    service = _service(container, Clock())
    asset = service.upload("alpha", None, _spooled(tmp_path, 9), UploadForm()).asset
    lossy = LostAnswer(container.settings, container.store, container.assets, container.blobs)
    spooled = _spooled(tmp_path, 10)
    made = service.new_version(lossy, "alpha", asset.id, "v1", spooled, "second")
    assert made.record.number == 2 and made.record.sha256 == spooled.sha256
    again = service.new_version(container.versions, "alpha", asset.id, "v1", spooled, "second")
    assert again.replayed and again.record.number == 2
    assert container.versions.records.numbers("alpha", asset.id) == [1, 2]
