"""Group commit of uploads, for `assetlens ingest`: files acknowledged together.

An upload acknowledged alone pays its own synced writes (reference marker, blob, content
marker, manifest, queue item: each durable before the next). A group of files makes each
kind of small write for all of them in one `put_many` (on the local store, their fsyncs
issued together), in the order that keeps every step safe on its own:

1. reference and content markers of every file (then each blob's collection waited out);
2. each blob (content-addressed, written only if missing, durable on its own);
3. every manifest: from here the assets exist (a manifest only ever names a stored blob);
4. every queue item.

Only then is any file of the group acknowledged. A crash before step 3 leaves markers
without manifests (ignored by duplicate checks, released by `assetlens gc`), so a resumed
ingest imports those files again; a crash between 3 and 4 leaves assets without queue
items, which the resumed ingest finds by content and queues again (`_linked`). Each object
is whole or absent (`put_many`), never half-written.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assetlens import layout
from assetlens.domain import Asset, AssetStatus
from assetlens.errors import AssetlensError, StoreUnavailable
from assetlens.metrics import Metrics
from assetlens.ports import NewObject, ObjectStore
from assetlens.services.asset_inputs import UploadForm
from assetlens.services.duplicate_policy import DuplicateRejected, Match, PolicyName
from assetlens.spool import Spooled
from assetlens.workqueue import WorkQueue

if TYPE_CHECKING:
    from assetlens.services.assets import AssetService, Submitted

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Planned:
    """A new asset of the group, and the earlier upload of the group it copies, if any."""

    asset: Asset
    spooled: Spooled
    first_copy: _Planned | None = None
    error: Exception | None = None


class UploadGroup:
    """`submit` for several files, acknowledged together (see the module's docstring)."""

    def __init__(
        self, assets: AssetService, store: ObjectStore, queue: WorkQueue, metrics: Metrics
    ) -> None:
        self._assets = assets
        self._store = store
        self._queue = queue
        self._metrics = metrics

    def submit(
        self, workspace: str, uploads: Sequence[tuple[Spooled, UploadForm]]
    ) -> list[Submitted | Exception]:
        """One outcome per upload, in order: its Submitted (a new asset, or the asset it
        duplicates under `link`), or the error that refused it (AssetlensError, OSError).
        Copies within the group are found by sha256 like copies already stored: only
        `allow` (which the form must name, as `assetlens ingest` does) stores them again."""
        from assetlens.services.assets import Submitted

        outcomes: list[Submitted | _Planned | Exception] = []
        pending: dict[str, _Planned] = {}
        for spooled, form in uploads:
            earlier = pending.get(spooled.sha256)
            policy = form.duplicates or PolicyName.ALLOW
            try:
                if earlier is not None and policy is PolicyName.REJECT:
                    raise DuplicateRejected(Match(earlier.asset, exact=True))
                if earlier is not None and policy is PolicyName.LINK:
                    outcomes.append(earlier)  # linked once the earlier one is stored
                    continue
                planned = self._assets.plan(workspace, spooled, form)
            except (AssetlensError, OSError) as exc:
                outcomes.append(exc)
                continue
            if isinstance(planned, Submitted):
                outcomes.append(self._linked(planned))
                continue
            new = _Planned(planned, spooled, earlier)
            pending.setdefault(spooled.sha256, new)
            outcomes.append(new)
        # A copy linked to an earlier upload of the group holds the same object: stored once.
        self._store_all(
            workspace, list({id(o): o for o in outcomes if isinstance(o, _Planned)}.values())
        )
        return [self._outcome(o, seen) for seen, o in _firsts(outcomes)]

    def _store_all(self, workspace: str, group: list[_Planned]) -> None:
        """Steps 1–4 for `group`; a step that fails marks the uploads it concerned."""
        if not group:
            return
        try:
            self._assets.blobs.reference_many(
                [(workspace, p.asset.id, p.asset.sha256) for p in group],
                also=[
                    NewObject(layout.sha_member_key(workspace, p.asset.sha256, p.asset.id), b"")
                    for p in group
                ],
            )
        except (AssetlensError, OSError) as exc:
            self._give_up(group, exc)
            return
        for planned in group:
            copied = planned.first_copy
            try:
                self._assets.blobs.store(planned.spooled, content_type=planned.asset.mime)
                self._assets.seal(
                    planned.asset,
                    first_copy=copied.asset.id if copied and copied.error is None else None,
                )
            except (AssetlensError, OSError) as exc:
                self._give_up([planned], exc)
        stored = [p for p in group if p.error is None]
        try:
            self._store.put_many(
                [
                    NewObject(
                        layout.manifest_key(workspace, p.asset.id),
                        p.asset.model_dump_json().encode(),
                        "application/json",
                    )
                    for p in stored
                ]
            )
        except (AssetlensError, OSError) as exc:
            # Some manifests may be written: their markers stay (a resumed ingest finds
            # those assets by content); markers of the others are left to `gc`.
            for planned in stored:
                planned.error = exc
            return
        try:
            self._queue.enqueue_new([(workspace, p.asset.id) for p in stored])
        except StoreUnavailable as exc:
            # The manifests are durable, so the assets are acknowledged; a resumed ingest
            # or reconcile queues them.
            log.warning(
                "could not enqueue %d uploads; they are queued later: %s", len(stored), exc.detail
            )
        for planned in stored:
            self._metrics.uploaded(planned.asset.size_bytes)

    def _give_up(self, group: list[_Planned], error: Exception) -> None:
        for planned in group:
            planned.error = error
            self._assets.abandon(planned.asset)

    def _linked(self, submitted: Submitted) -> Submitted:
        """A file the workspace already holds: if its asset was never indexed (its queue
        item lost to a crash before it was written), it is queued again; a queued one just
        keeps its place (enqueue coalesces)."""
        if submitted.asset.status is AssetStatus.PROCESSING:
            try:
                self._queue.enqueue(submitted.asset.workspace, submitted.asset.id)
            except StoreUnavailable as exc:
                log.warning("could not queue %s again: %s", submitted.asset.id, exc.detail)
        return submitted

    @staticmethod
    def _outcome(outcome: Submitted | _Planned | Exception, first: bool) -> Submitted | Exception:
        from assetlens.services.assets import Submitted

        if not isinstance(outcome, _Planned):
            return outcome
        if outcome.error is not None:
            return outcome.error
        return Submitted(outcome.asset, linked=not first)


def _firsts(
    outcomes: list[Submitted | _Planned | Exception],
) -> list[tuple[bool, Submitted | _Planned | Exception]]:
    """Each outcome with whether it is the first appearance of its object (a later one is
    a copy linked to it)."""
    seen: set[int] = set()
    marked = []
    for outcome in outcomes:
        marked.append((id(outcome) not in seen, outcome))
        seen.add(id(outcome))
    return marked
