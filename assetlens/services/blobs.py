"""Blob references and safe garbage collection of content-addressed blobs.

Blobs are shared by every asset, version and workspace with the same bytes, so a blob may
only go when nothing uses it any more. Every use is a reference marker
(`layout.blob_ref_key`), and the protocol below stays correct without transactions on a
store with strong read-after-write and conditional writes:

- a user (upload, new version) writes its marker FIRST, then reads the collection mark
  `gc/{sha}`: absent → safe, because any collector that marks later lists the refs after
  our marker exists and stops; present → a collector is at work, so wait (bounded) until the
  mark is gone, then write the blob again if the collector removed it.
- a collector creates the mark (create_only: one collector per blob), THEN lists the refs:
  any → remove the mark and stop; none → delete the blob, its previews and its vectors, then
  remove the mark.

Libraries from before reference markers have manifests without them: until the backfill
has completed (`BLOB_REFS_COMPLETE_KEY`), a collector also scans every manifest and keeps
a blob that any of them names.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from assetlens import layout
from assetlens.errors import Conflict, ObjectNotFound, PreconditionFailed, Unavailable
from assetlens.manifests import Manifests
from assetlens.ports import NewObject, ObjectStore
from assetlens.spool import Spooled

log = logging.getLogger(__name__)


def _nothing(sha256: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class BlobHooks:
    """Seams between the protocol's steps, for tests that interleave a user and a collector
    deterministically. Each receives the blob's sha256; the defaults do nothing."""

    after_ref: Callable[[str], None] = _nothing  # a user wrote its marker, mark not read yet
    after_mark: Callable[[str], None] = _nothing  # a collector marked, refs not listed yet
    before_delete: Callable[[str], None] = _nothing  # a collector found no refs, deletes next


@dataclass(frozen=True, slots=True)
class BlobUse:
    """One use of a blob, for the backfill of reference markers."""

    workspace: str
    ref_id: str
    sha256: str


@dataclass(frozen=True, slots=True)
class SweepReport:
    dangling_refs: int
    stale_marks: int
    collected: int


class BlobService:
    """Reference markers (ensure/add/release) and collection of unreferenced blobs."""

    def __init__(
        self,
        store: ObjectStore,
        *,
        wait_seconds: float = 30.0,
        poll_seconds: float = 0.02,
        hooks: BlobHooks | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._manifests = Manifests(store)
        self._wait = wait_seconds
        self._poll = poll_seconds
        self._hooks = hooks or BlobHooks()
        self._sleep = sleep
        self._clock = clock

    # -- users ------------------------------------------------------------------------------

    def ensure(
        self,
        workspace: str,
        ref_id: str,
        spooled: Spooled,
        *,
        content_type: str = "application/octet-stream",
    ) -> None:
        """Reference the blob of `spooled` as `ref_id` and make sure the blob exists (written
        from `spooled` when missing), safe against a concurrent collection."""
        self._reference(workspace, ref_id, spooled.sha256)
        self.store(spooled, content_type=content_type)

    def reference_many(
        self, refs: Sequence[tuple[str, str, str]], also: Sequence[NewObject] = ()
    ) -> None:
        """`ensure`'s first half for several uses at once: the markers of `refs`
        (workspace, ref_id, sha256), and the objects `also`, in one `put_many` (its syncs
        issued together on the local store), then each blob's collection waited out. Call
        `store` next."""
        self._store.put_many(
            [
                *(
                    NewObject(layout.blob_ref_key(sha256, workspace, ref_id), b"")
                    for workspace, ref_id, sha256 in refs
                ),
                *also,
            ]
        )
        for sha256 in dict.fromkeys(sha256 for _, _, sha256 in refs):
            self._hooks.after_ref(sha256)
            self._wait_for_collector(sha256)

    def store(self, spooled: Spooled, *, content_type: str = "application/octet-stream") -> None:
        """Write the blob of `spooled` unless it is stored already; only after its marker."""
        key = layout.blob_key(spooled.sha256)
        if self._store.exists(key):  # content addressing: identical bytes stored once
            return
        with spooled.path.open("rb") as src, contextlib.suppress(PreconditionFailed):
            self._store.put_stream(
                key, src, size=spooled.size, content_type=content_type, create_only=True
            )

    def add_ref(self, workspace: str, ref_id: str, sha256: str) -> None:
        """Reference a blob that is already stored (a rollback to a kept version's bytes).
        Conflict, with the marker removed again, when the blob is gone."""
        self._reference(workspace, ref_id, sha256)
        if not self._store.exists(layout.blob_key(sha256)):
            self.release(workspace, ref_id, sha256)
            raise Conflict("the content of that version is no longer stored")

    def drop_ref(self, workspace: str, ref_id: str, sha256: str) -> None:
        """Remove a marker without collecting: for a caller that still holds another
        reference to the same blob."""
        self._store.delete(layout.blob_ref_key(sha256, workspace, ref_id))

    def release(self, workspace: str, ref_id: str, sha256: str) -> bool:
        """Remove a marker and collect the blob if nothing references it any more; returns
        whether the blob was collected. Releasing twice is harmless."""
        self.drop_ref(workspace, ref_id, sha256)
        return self.collect(sha256)

    def _reference(self, workspace: str, ref_id: str, sha256: str) -> None:
        self._store.put_bytes(layout.blob_ref_key(sha256, workspace, ref_id), b"")
        self._hooks.after_ref(sha256)
        self._wait_for_collector(sha256)

    def _wait_for_collector(self, sha256: str) -> None:
        """Return once no collection of `sha256` is in progress; Unavailable (503) when one
        lasts longer than `wait_seconds` (a crashed collector: `assetlens gc` clears it)."""
        mark = layout.blob_gc_key(sha256)
        deadline = self._clock() + self._wait
        while self._store.exists(mark):
            if self._clock() >= deadline:
                raise Unavailable("the content is being garbage-collected; retry shortly")
            self._sleep(self._poll)

    # -- collection -------------------------------------------------------------------------

    def referenced(self, sha256: str) -> bool:
        """Whether any marker references the blob."""
        return next(iter(self._store.list_keys(layout.blob_ref_prefix(sha256))), None) is not None

    def collect(self, sha256: str) -> bool:
        """Delete the blob, its previews and its vectors if nothing references it; returns
        whether it did. Never removes a blob that a concurrent user has referenced."""
        if self.referenced(sha256):
            return False
        mark = layout.blob_gc_key(sha256)
        body = json.dumps({"state": "collecting", "at": datetime.now(UTC).isoformat()})
        try:
            self._store.put_bytes(
                mark, body.encode(), content_type="application/json", create_only=True
            )
        except PreconditionFailed:
            return False  # another collector is deciding about this blob
        try:
            self._hooks.after_mark(sha256)
            if self.referenced(sha256) or self._named_by_unmarked_manifest(sha256):
                return False
            self._hooks.before_delete(sha256)
            for key in list(self._store.list_keys(layout.derived_prefix(sha256))):
                self._store.delete(key)
            self._store.delete(layout.blob_key(sha256))
            log.info("collected blob %s", sha256)
            return True
        finally:
            self._store.delete(mark)

    def _named_by_unmarked_manifest(self, sha256: str) -> bool:
        """Before the backfill completed, a manifest may use a blob without a marker."""
        if self._store.exists(layout.BLOB_REFS_COMPLETE_KEY):
            return False
        return any(asset.sha256 == sha256 for asset in self._manifests.iter_all())

    # -- maintenance ------------------------------------------------------------------------

    def backfill(self, uses: Iterable[BlobUse]) -> int:
        """Write the missing markers of a library from before reference markers, then record
        that every use has one (collectors stop scanning manifests); the count written.
        Idempotent."""
        if self._store.exists(layout.BLOB_REFS_COMPLETE_KEY):
            return 0
        written = 0
        for use in uses:
            key = layout.blob_ref_key(use.sha256, use.workspace, use.ref_id)
            if self._store.exists(key):
                continue  # written by its upload (every library made since markers exist)
            self._store.put_bytes(key, b"")
            written += 1
        self._store.put_bytes(
            layout.BLOB_REFS_COMPLETE_KEY,
            json.dumps({"completed_at": datetime.now(UTC).isoformat()}).encode(),
            content_type="application/json",
        )
        return written

    def sweep(
        self, in_use: Callable[[str, str, str], bool], older_than: timedelta = timedelta(hours=1)
    ) -> SweepReport:
        """Repair what crashes leave behind: markers older than `older_than` whose use is
        gone (`in_use(sha, workspace, ref_id)` says no) are released, and collection marks
        older than that are removed. Young markers may belong to an upload in flight (the
        marker is written before the manifest), so they are left alone."""
        cutoff = datetime.now(UTC) - older_than
        dangling = stale = collected = 0
        for key in list(self._store.list_keys("gc/")):
            if self._older(key, cutoff):
                self._store.delete(key)
                stale += 1
        for key in list(self._store.list_keys(layout.blob_ref_prefix())):
            parsed = layout.parse_blob_ref_key(key)
            if parsed is None or not self._older(key, cutoff) or in_use(*parsed):
                continue
            dangling += 1
            sha256, workspace, ref_id = parsed
            collected += self.release(workspace, ref_id, sha256)
        return SweepReport(dangling_refs=dangling, stale_marks=stale, collected=collected)

    def _older(self, key: str, cutoff: datetime) -> bool:
        try:
            modified = self._store.stat(key).modified
        except ObjectNotFound:
            return False
        return modified is not None and modified < cutoff
