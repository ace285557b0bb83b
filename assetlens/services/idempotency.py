"""Idempotent writes: a client's `Idempotency-Key` makes a retried upload (URL import, new
version) answer what the first attempt created instead of creating it twice.

One small record per (workspace, key) in the object store, claimed with create_only
before the work starts, so concurrent requests with one key create exactly one asset:

    pending  {fingerprint, created_at, claimed_at}            ← claimed (create_only / CAS)
    done     {fingerprint, created_at, claimed_at, asset_id}  ← after the asset is durable

A request that finds a done record with the same fingerprint replays its asset; one with
another fingerprint is refused (422). One that finds a pending record waits (bounded) for
it, then answers 409 with Retry-After. A failed request releases its claim, so a retry runs
again — unless its planned asset (for a new version: a version of its bytes after the one
it started from) exists, as it failed after making it: then the claim is completed with
that, which the request and every retry answer. Records expire
`idempotency_ttl_seconds` after they were made; expiry is lazy (an expired record is
replaced on the key's next use), and a claim older than `idempotency_claim_seconds`
without a result (its process was killed) may be taken over.
A scheduled sweep (`sweep_if_due`, run by the indexer workers; idempotency_sweep.py)
removes expired records of keys never used again. The key's header, the request's
fingerprint and the record itself: idempotency_records.py.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from assetlens import layout
from assetlens.config import Settings
from assetlens.documents import put_document
from assetlens.domain import Asset, new_id, utcnow
from assetlens.errors import (
    AssetlensError,
    Conflict,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    Unavailable,
)
from assetlens.ports import ObjectStore
from assetlens.services.asset_inputs import UploadForm
from assetlens.services.assets import AssetService, Submitted
from assetlens.services.idempotency_records import (
    HEADER,
    IdempotencyRecord,
    dump_record,
    read_record,
    upload_fingerprint,
)
from assetlens.services.idempotency_sweep import IdempotencySweep
from assetlens.services.url_import import UrlImportService
from assetlens.services.versions import VersionService
from assetlens.spool import Spooled
from assetlens.versions import VersionRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NewVersion:
    """What a new-version upload made (or, `replayed`, made before under the same key)."""

    asset: Asset
    record: VersionRecord
    replayed: bool = False


T = TypeVar("T")


class IdempotencyService(IdempotencySweep):
    """Runs uploads, URL imports and new versions at most once per (workspace,
    Idempotency-Key)."""

    def __init__(
        self,
        settings: Settings,
        store: ObjectStore,
        assets: AssetService,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._clock = clock
        self._store = store
        self._assets = assets
        self._ttl = timedelta(seconds=settings.idempotency_ttl_seconds)
        self._claim = timedelta(seconds=settings.idempotency_claim_seconds)
        self._wait = settings.idempotency_wait_seconds
        self._sweep_interval = settings.idempotency_sweep_interval_seconds

    def upload(
        self, workspace: str, key: str | None, spooled: Spooled, form: UploadForm
    ) -> Submitted:
        """`AssetService.submit`, once per key (every call when `key` is None)."""
        if key is None:
            return self._assets.submit(workspace, spooled, form)
        fingerprint = upload_fingerprint(
            "upload", form, sha256=spooled.sha256, filename=spooled.filename
        )

        def action(planned: str | None) -> Submitted:
            return self._assets.submit(workspace, spooled, replace(form, asset_id=planned))

        return self.run(
            workspace,
            key,
            fingerprint,
            action,
            _submitted_result,
            partial(self._replay, workspace),
            planned_asset_id=new_id(),
        )

    def import_url(
        self,
        importer: UrlImportService,
        workspace: str,
        key: str | None,
        url: str,
        form: UploadForm,
    ) -> Submitted:
        """`importer.import_url`, once per key (every call when `key` is None)."""
        if key is None:
            return importer.import_url(workspace, url, form)

        def action(planned: str | None) -> Submitted:
            return importer.import_url(workspace, url, replace(form, asset_id=planned))

        return self.run(
            workspace,
            key,
            upload_fingerprint("url", form, url=url),
            action,
            _submitted_result,
            partial(self._replay, workspace),
            planned_asset_id=new_id(),
        )

    def new_version(
        self,
        versions: VersionService,
        workspace: str,
        asset_id: str,
        key: str | None,
        spooled: Spooled,
        change_description: str,
    ) -> NewVersion:
        """`versions.upload`, once per key (every call when `key` is None)."""

        def action(_planned: str | None = None) -> NewVersion:
            return NewVersion(*versions.upload(workspace, asset_id, spooled, change_description))

        if key is None:
            return action()

        def made_once(_planned: str | None) -> NewVersion:
            # A version has no id planned ahead: what this request made is found by the
            # number it took and its bytes, so that a failure after the version was made
            # (the store's answer lost) neither releases the key nor makes it again.
            before = max(versions.records.numbers(workspace, asset_id), default=1)
            try:
                return action()
            except Unavailable:
                made = _version_made(versions, workspace, asset_id, before, spooled.sha256)
                if made is None:
                    raise
                return made

        def replay(record: IdempotencyRecord) -> NewVersion:
            gone = Conflict(f"the version made with this {HEADER} is no longer kept")
            if record.asset_id is None or record.version is None:
                raise gone
            try:
                asset, version = versions.get(workspace, record.asset_id, record.version)
            except NotFound as exc:
                raise gone from exc
            return NewVersion(asset, version, replayed=True)

        fingerprint = upload_fingerprint(
            "version",
            UploadForm(description=change_description),
            asset_id=asset_id,
            sha256=spooled.sha256,
            filename=spooled.filename,
        )
        return self.run(
            workspace,
            key,
            fingerprint,
            made_once,
            lambda made: {"asset_id": made.asset.id, "version": made.record.number},
            replay,
        )

    def run(
        self,
        workspace: str,
        key: str,
        fingerprint: str,
        action: Callable[[str | None], T],
        result: Callable[[T], dict[str, Any]],
        replay: Callable[[IdempotencyRecord], T],
        *,
        planned_asset_id: str | None = None,
    ) -> T:
        """Run `action` unless this key already ran it for the same request: then answer
        `replay` of the record, which holds the `result` fields (asset_id, …) of the first
        run. InvalidInput when the key was used for another request; Conflict (409,
        Retry-After) when a request with the key is still running. `planned_asset_id`: the
        id for the new asset, recorded in the claim; `action` is called with the claim's
        planned id — a request taking over a stale claim gets the id planned by the
        request it replaces (see `_abandoned`), so the two cannot make two assets."""
        record_key = layout.idempotency_key(workspace, key)
        deadline = time.monotonic() + self._wait
        delay = 0.02
        while True:
            now = self._clock()
            found = read_record(self._store, record_key)
            if found is None or self._expired(found[0], now):
                etag = None if found is None else found[1]
                claim = IdempotencyRecord(
                    fingerprint=fingerprint,
                    created_at=now,
                    claimed_at=now,
                    planned_asset_id=planned_asset_id,
                )
            else:
                record, etag = found
                if record.fingerprint != fingerprint:
                    raise InvalidInput(
                        f"this {HEADER} was used for a different request; "
                        "use a new key for a new request"
                    )
                if record.asset_id is not None:
                    return replay(record)
                if now - record.claimed_at < self._claim:
                    if time.monotonic() >= deadline:
                        busy = Conflict(f"a request with this {HEADER} is still in progress")
                        busy.headers["Retry-After"] = "1"
                        raise busy
                    time.sleep(delay)
                    delay = min(delay * 1.5, 0.25)
                    continue
                # Its request never finished (a killed process): complete the claim with
                # the asset it made, if it got that far, else take it over. The planned id
                # stays, so even a request that was only slow cannot make a second asset.
                claim = self._abandoned(workspace, record, now)
            try:
                claim_etag = put_document(self._store, record_key, dump_record(claim), etag).etag
            except PreconditionFailed:
                continue  # another request claimed or finished it first: look again
            if claim.asset_id is not None:
                continue  # an abandoned claim completed: replayed on the next pass
            return self._perform(workspace, record_key, claim, claim_etag, action, result, replay)

    def _abandoned(
        self, workspace: str, record: IdempotencyRecord, now: datetime
    ) -> IdempotencyRecord:
        """The record that replaces an abandoned claim: completed when its planned asset
        exists (the next pass replays it), else claimed anew by this request."""
        if self._planned_asset_made(workspace, record):
            return record.model_copy(update={"asset_id": record.planned_asset_id})
        return record.model_copy(update={"claimed_at": now})

    def _planned_asset_made(self, workspace: str, record: IdempotencyRecord) -> bool:
        """Whether the asset planned by a claim exists (Unavailable when the store cannot
        say)."""
        if record.planned_asset_id is None:
            return False
        try:
            self._assets.get(workspace, record.planned_asset_id)
        except NotFound:
            return False
        return True

    def _perform(
        self,
        workspace: str,
        record_key: str,
        claim: IdempotencyRecord,
        etag: str,
        action: Callable[[str | None], T],
        result: Callable[[T], dict[str, Any]],
        replay: Callable[[IdempotencyRecord], T],
    ) -> T:
        try:
            made = action(claim.planned_asset_id)
        except BaseException as exc:
            try:
                kept = self._planned_asset_made(workspace, claim)
            except AssetlensError:
                raise exc from None  # unknown: the claim stays, `_abandoned` settles it
            if not kept:
                # Nothing was made: release the key so that a retry runs the request again.
                with contextlib.suppress(AssetlensError):
                    self._store.delete(record_key, if_match=etag)
                raise
            # The planned asset exists: this request made it before failing (the store's
            # answer to the manifest write lost), or the slow request whose claim this one
            # took over did. Either way the key made it, and a retry must replay it.
            done = claim.model_copy(update={"asset_id": claim.planned_asset_id})
            self._record(record_key, done, etag)
            if not isinstance(exc, Exception):
                raise
            return replay(done)
        self._record(record_key, claim.model_copy(update=result(made)), etag)
        return made

    def _record(self, record_key: str, done: IdempotencyRecord, etag: str) -> None:
        """Complete a claim with its result, best effort. A claim gone meanwhile is put
        back with the result: on MinIO a sweep's conditional delete (a check, then the
        delete) takes a claim written in between with it, and a retry would run again."""
        try:
            try:
                put_document(self._store, record_key, dump_record(done), etag)
            except PreconditionFailed:  # taken over (kept as it is) or deleted: put back
                put_document(self._store, record_key, dump_record(done), None)
        except AssetlensError as exc:
            # The asset is durable and acknowledged either way; a retry within the claim
            # time waits, and after it `_abandoned` finds the planned asset (logged so that
            # shows).
            log.warning(
                "could not record the result of an idempotent request (%s): %s",
                record_key,
                exc.detail,
            )

    def _replay(self, workspace: str, record: IdempotencyRecord) -> Submitted:
        assert record.asset_id is not None  # checked by the caller
        try:
            asset = self._assets.get(workspace, record.asset_id)
        except NotFound as exc:
            raise Conflict(f"the asset created with this {HEADER} no longer exists") from exc
        return Submitted(asset, linked=record.linked, replayed=True)


def _version_made(
    versions: VersionService, workspace: str, asset_id: str, before: int, sha256: str
) -> NewVersion | None:
    """The version after number `before` holding the bytes `sha256`, if one was made (and
    made current); None when there is none, or the store cannot say."""
    try:
        for number in reversed(versions.records.numbers(workspace, asset_id)):
            if number <= before:
                break
            asset, record = versions.get(workspace, asset_id, number)
            if record.sha256 == sha256:
                return NewVersion(asset, record)
    except AssetlensError:
        pass
    return None


def _submitted_result(submitted: Submitted) -> dict[str, Any]:
    return {"asset_id": submitted.asset.id, "linked": submitted.linked}
