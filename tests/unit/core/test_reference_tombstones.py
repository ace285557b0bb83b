"""A removal of a reference cut short after its tombstone (a crash) and what the next request
for that use does with the tombstone (docs/MINIO.md, the reference removal row).

The scenarios take the store they run on: here the local store, and MinIO in
tests/integration/test_reference_tombstones_s3.py. The races with a live owner follow, on
the fakes that interleave requests step by step.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from assetlens import layout
from assetlens.bootstrap import Container, build
from assetlens.errors import AssetInUse, Conflict, NotFound
from assetlens.ports import ObjectStore
from assetlens.services.asset_inputs import UploadForm
from assetlens.services.references import ReferenceIn, ReferenceService
from assetlens.spool import spool_file
from indexer.embedded import EmbeddedSearchIndex
from tests.conftest import make_settings
from tests.fakes import CheckThenDeleteStore, FakeEmbedder

USES = [
    ReferenceIn(resource_type="story", resource_id=f"s-{n}", usage_type="cover") for n in (1, 2)
]
NOW = timedelta(0)  # every tombstone is stale: its owner is taken for crashed


class Crashed(Exception):
    """The process died here."""


class Interleaved:
    """`store` with `before_put(key)` and `before_delete(key)` each run once before a write
    or a delete of a reference document, and every delete of one failing with Crashed while
    `crash` is set."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self.crash = False
        self.before_put: Callable[[str], object] | None = None
        self.before_delete: Callable[[str], object] | None = None

    def put_bytes(self, key: str, data: bytes, **kwargs: Any) -> Any:
        if key.startswith("usage-refs/"):
            hook, self.before_put = self.before_put, None
            if hook is not None:
                hook(key)
        return self._store.put_bytes(key, data, **kwargs)

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        if key.startswith("usage-refs/"):
            if self.crash:
                raise Crashed(key)
            hook, self.before_delete = self.before_delete, None
            if hook is not None:
                hook(key)
        self._store.delete(key, if_match=if_match)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def wired(tmp_path: Path, store: ObjectStore | None) -> Iterator[Container]:
    container = build(make_settings(tmp_path / "data"), store=store,
                      index=EmbeddedSearchIndex(tmp_path / "index"),
                      embedder=FakeEmbedder())  # fmt: skip
    container.index.ensure()
    yield container
    container.close()


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Container]:
    yield from wired(tmp_path, None)  # the local store of the settings' data directory


def uploaded(container: Container, tmp_path: Path) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 30)).save(buffer, format="PNG")
    buffer.seek(0)
    spooled = spool_file(buffer, tmp_path, "a.png", 10**7)
    return container.assets.upload("ws", spooled, UploadForm()).id


def service(container: Container, store: ObjectStore, stale_after: timedelta) -> ReferenceService:
    return ReferenceService(store, container.assets, stale_after=stale_after)


def crashed_removal(container: Container, tmp_path: Path) -> tuple[str, str]:
    """An asset with two uses, the first one's removal cut short after its tombstone."""
    asset_id = uploaded(container, tmp_path)
    first, _ = (container.references.create("ws", asset_id, use) for use in USES)
    dying = Interleaved(container.store)
    dying.crash = True
    with pytest.raises(Crashed):
        service(container, dying, NOW).remove("ws", asset_id, first.id)
    return asset_id, first.id


def count(container: Container, asset_id: str) -> int:
    return container.assets.get("ws", asset_id).references_count


def listed(container: Container, asset_id: str) -> list[str]:
    return [ref.id for ref in container.references.list_references("ws", asset_id)]


def a_recording_finishes_a_removal_a_crash_left(container: Container, tmp_path: Path) -> None:
    asset_id, first = crashed_removal(container, tmp_path)
    assert listed(container, asset_id) == [USES[1].reference_id()]
    again = service(container, container.store, NOW).create("ws", asset_id, USES[0])
    assert again.id == first
    assert sorted(listed(container, asset_id)) == sorted(u.reference_id() for u in USES)
    assert count(container, asset_id) == 2  # the crashed removal's count went to the new one
    for use in USES:
        container.references.remove("ws", asset_id, use.reference_id())
    assert count(container, asset_id) == 0 and listed(container, asset_id) == []
    container.assets.delete("ws", asset_id)  # not in use: the count was exact


def a_fresh_tombstone_is_left_to_its_owner(container: Container, tmp_path: Path) -> None:
    asset_id, first = crashed_removal(container, tmp_path)
    with pytest.raises(Conflict, match="being removed"):
        container.references.create("ws", asset_id, USES[0])  # the default: 10 minutes
    with pytest.raises(NotFound):
        container.references.remove("ws", asset_id, first)
    assert count(container, asset_id) == 2  # its owner may still release it
    key = layout.usage_ref_key("ws", asset_id, first)
    assert container.store.get_bytes(key).data.startswith(b'{"removed":true')


def a_removal_finishes_a_stale_tombstone(container: Container, tmp_path: Path) -> None:
    asset_id, first = crashed_removal(container, tmp_path)
    with pytest.raises(NotFound):
        service(container, container.store, NOW).remove("ws", asset_id, first)
    assert count(container, asset_id) == 1
    assert list(container.store.list_keys(layout.usage_ref_prefix("ws", asset_id))) == [
        layout.usage_ref_key("ws", asset_id, USES[1].reference_id())
    ]
    container.references.create("ws", asset_id, USES[0])
    assert count(container, asset_id) == 2


def an_older_codes_tombstone_is_replaced_by_a_recording(
    container: Container, tmp_path: Path
) -> None:
    """Older code released the count before deleting its tombstone; a crash in between left
    `{"removed":true}` with the count released, which made the use answer 409."""
    asset_id = uploaded(container, tmp_path)
    ref = container.references.create("ws", asset_id, USES[0])
    key = layout.usage_ref_key("ws", asset_id, ref.id)
    etag = container.store.get_bytes(key).info.etag
    container.store.put_bytes(key, b'{"removed":true}', content_type="application/json",
                              if_match=etag)  # fmt: skip
    container.assets.apply("ws", asset_id, lambda a: a.model_copy(update={"references_count": 0}))
    assert container.references.create("ws", asset_id, USES[0]).id == ref.id
    assert count(container, asset_id) == 1 and listed(container, asset_id) == [ref.id]


SCENARIOS = [
    a_recording_finishes_a_removal_a_crash_left,
    a_fresh_tombstone_is_left_to_its_owner,
    a_removal_finishes_a_stale_tombstone,
    an_older_codes_tombstone_is_replaced_by_a_recording,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
def test_on_the_local_store(
    scenario: Callable[[Container, Path], None], local: Container, tmp_path: Path
) -> None:
    scenario(local, tmp_path)


# -- races with a live owner (fakes) ------------------------------------------------------


@pytest.fixture
def gapped(tmp_path: Path) -> Iterator[tuple[Container, CheckThenDeleteStore]]:
    store = CheckThenDeleteStore("usage-refs/")
    for container in wired(tmp_path, store):
        yield container, store


def test_two_recordings_finishing_one_tombstone_carry_its_count_once(
    gapped: tuple[Container, CheckThenDeleteStore], tmp_path: Path
) -> None:
    container, store = gapped
    asset_id, first = crashed_removal(container, tmp_path)
    racing = Interleaved(store)
    outcome: list[object] = []
    # The second runs after the first read the tombstone, before its swap.
    racing.before_put = lambda _key: outcome.append(
        service(container, store, NOW).create("ws", asset_id, USES[0]).id
    )
    with pytest.raises(Conflict, match="already recorded"):  # it lost the swap, read again
        service(container, racing, NOW).create("ws", asset_id, USES[0])
    assert outcome == [first]
    assert count(container, asset_id) == 2 == len(listed(container, asset_id))


def test_an_owner_whose_tombstone_was_taken_over_releases_nothing(
    gapped: tuple[Container, CheckThenDeleteStore], tmp_path: Path
) -> None:
    """The owner stalled past the staleness after writing its tombstone; a recording of the
    use took it over (and its count) before the owner's delete, which then fails."""
    container, store = gapped
    asset_id = uploaded(container, tmp_path)
    first, _ = (container.references.create("ws", asset_id, use) for use in USES)
    owner = Interleaved(store)
    owner.before_delete = lambda _key: service(container, store, NOW).create(
        "ws", asset_id, USES[0]
    )
    service(container, owner, NOW).remove("ws", asset_id, first.id)
    assert count(container, asset_id) == 2 == len(listed(container, asset_id))


def test_a_takeover_inside_the_owners_check_to_delete_gap_keeps_the_count_exact(
    gapped: tuple[Container, CheckThenDeleteStore], tmp_path: Path
) -> None:
    """Left (docs/MINIO.md): on MinIO the owner's delete removes the new document a recording
    wrote inside its check-to-delete gap, and the owner releases the count: the recording
    is lost, but the count still matches the documents (never under them)."""
    container, store = gapped
    asset_id = uploaded(container, tmp_path)
    first, _ = (container.references.create("ws", asset_id, use) for use in USES)
    store.between_check_and_delete = lambda _key: service(container, store, NOW).create(
        "ws", asset_id, USES[0]
    )
    service(container, store, NOW).remove("ws", asset_id, first.id)
    assert count(container, asset_id) == 1 == len(listed(container, asset_id))
    with pytest.raises(AssetInUse):
        container.assets.delete("ws", asset_id)
