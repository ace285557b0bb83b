"""Where things live in the object store. The only module that builds keys."""

from __future__ import annotations

import hashlib
import re

from assetlens.errors import InvalidInput

_WORKSPACE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_ASSET_ID = re.compile(r"^[0-9a-f]{32}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_KEY_ID = re.compile(r"^[0-9a-f]{16}$")


def check_workspace(name: str) -> str:
    if not _WORKSPACE.fullmatch(name):
        raise InvalidInput(
            "workspace names are 1-63 characters of a-z, 0-9, '_' and '-', "
            "starting with a letter or digit"
        )
    return name


def is_asset_id(value: str) -> bool:
    return bool(_ASSET_ID.fullmatch(value))


def is_sha256(value: str) -> bool:
    return bool(_SHA256.fullmatch(value))


def blob_key(sha256: str) -> str:
    """Content-addressed originals, sharded two levels deep to keep directories small."""
    if not _SHA256.fullmatch(sha256):
        raise InvalidInput("not a sha256 hex digest")
    return f"blobs/sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def manifest_prefix(workspace: str | None = None) -> str:
    return "manifests/" if workspace is None else f"manifests/{workspace}/"


def manifest_key(workspace: str, asset_id: str) -> str:
    return f"{manifest_prefix(workspace)}{asset_id}.json"


def parse_manifest_key(key: str) -> tuple[str, str] | None:
    parts = key.split("/")
    if len(parts) != 3 or parts[0] != "manifests" or not parts[2].endswith(".json"):
        return None
    return parts[1], parts[2].removesuffix(".json")


def sha_member_key(workspace: str, sha256: str, asset_id: str) -> str:
    """One marker per asset with this content: lists a workspace's exact duplicates."""
    return f"sha/{workspace}/{sha256[:2]}/{sha256}/{asset_id}"


def sha_member_prefix(workspace: str, sha256: str) -> str:
    return f"sha/{workspace}/{sha256[:2]}/{sha256}/"


PHASH_BANDS = 4


def phash_bands(phash: str) -> list[str]:
    """The perceptual hash cut into 4 bands of 16 bits. Hashes within 3 bits of each other
    always share a band (pigeonhole), so band lookups find near duplicates without a scan."""
    width = len(phash) // PHASH_BANDS
    return [phash[i * width : (i + 1) * width] for i in range(PHASH_BANDS)]


def phash_band_prefix(workspace: str, band: int, value: str) -> str:
    return f"phash/{workspace}/{band}/{value}/"


def phash_band_key(workspace: str, band: int, value: str, asset_id: str) -> str:
    return phash_band_prefix(workspace, band, value) + asset_id


def preview_key(sha256: str, size: str) -> str:
    return f"derived/{sha256[:2]}/{sha256}/preview-{size}.webp"


def vector_key(sha256: str, model_id: str) -> str:
    """Cached embedding of a blob by one model, so reindexing does not re-embed."""
    slug = hashlib.sha256(model_id.encode()).hexdigest()[:16]
    return f"derived/{sha256[:2]}/{sha256}/vector-{slug}.json"


def folders_key(workspace: str) -> str:
    """A workspace's whole folder tree: one document, so every change is one atomic CAS."""
    return f"catalog/{check_workspace(workspace)}/folders.json"


def api_key_key(key_hash: str) -> str:
    """An API key's record, named by the key's SHA-256 (the key itself is never stored)."""
    if not _SHA256.fullmatch(key_hash):
        raise InvalidInput("not a sha256 hex digest")
    return f"system/api-keys/{key_hash}.json"


def is_key_id(value: str) -> bool:
    """API key ids are the first 16 hex digits of the key's SHA-256."""
    return bool(_KEY_ID.fullmatch(value))


def api_key_marker_prefix(workspace: str) -> str:
    return f"system/api-keys-by-workspace/{check_workspace(workspace)}/"


def api_key_marker_key(workspace: str, key_id: str) -> str:
    """One marker per key of a workspace, holding the key's SHA-256: lists and revokes."""
    if not is_key_id(key_id):
        raise InvalidInput("not an API key id")
    return api_key_marker_prefix(workspace) + key_id


SESSION_PREFIX = "system/sessions/"


def session_key(session_hash: str) -> str:
    """A browser session's record, named by the SHA-256 of its cookie value."""
    if not _SHA256.fullmatch(session_hash):
        raise InvalidInput("not a sha256 hex digest")
    return f"{SESSION_PREFIX}{session_hash}.json"


QUEUE_PREFIX = "queue/index/"
RECONCILE_SCHEDULE_KEY = "system/reconcile-schedule.json"


def queue_key(workspace: str, asset_id: str) -> str:
    return f"{QUEUE_PREFIX}{workspace}/{asset_id}.json"


def queue_item(key: str) -> tuple[str, str] | None:
    """(workspace, asset id) of a `queue_key`; None for a key of another shape."""
    if not key.startswith(QUEUE_PREFIX) or not key.endswith(".json"):
        return None
    workspace, _, asset_id = key[len(QUEUE_PREFIX) : -len(".json")].partition("/")
    if not workspace or not asset_id or "/" in asset_id:
        return None
    return workspace, asset_id


# -- collections ----------------------------------------------------------------------------

_COLLECTION_ID = re.compile(r"^[0-9a-f]{32}$")


def is_collection_id(value: str) -> bool:
    return bool(_COLLECTION_ID.fullmatch(value))


def collection_prefix(owner: str) -> str:
    return f"catalog/{owner}/collections/"


def collection_key(owner: str, collection_id: str) -> str:
    """The collection document (items, shares), owned by one workspace, updated by CAS."""
    return f"{collection_prefix(owner)}{collection_id}.json"


def grant_prefix(grantee: str) -> str:
    return f"catalog/{grantee}/shared-with-me/"


def grant_key(grantee: str, collection_id: str) -> str:
    """A marker naming the owner of a collection shared with `grantee`: lets the grantee
    find it in one read. The collection document's `shares` stays the authority."""
    return f"{grant_prefix(grantee)}{collection_id}.json"


# -- references, lineage, workspace settings ------------------------------------------------
# (`usage-refs/`, not `refs/`: blob reference markers of the versions/trash work live there.)

_REFERENCE_ID = re.compile(r"^[0-9a-f]{32}$")


def is_reference_id(value: str) -> bool:
    return bool(_REFERENCE_ID.fullmatch(value))


def usage_ref_prefix(workspace: str, asset_id: str) -> str:
    return f"usage-refs/{check_workspace(workspace)}/{asset_id}/"


def usage_ref_key(workspace: str, asset_id: str, reference_id: str) -> str:
    """One document per use of an asset elsewhere (a story's cover, a page's illustration)."""
    if not is_asset_id(asset_id) or not is_reference_id(reference_id):
        raise InvalidInput("not an asset or reference id")
    return f"{usage_ref_prefix(workspace, asset_id)}{reference_id}.json"


def lineage_child_prefix(workspace: str, parent_id: str) -> str:
    return f"lineage/{check_workspace(workspace)}/{parent_id}/"


def lineage_child_key(workspace: str, parent_id: str, child_id: str) -> str:
    """A marker saying `child_id` names `parent_id` in its lineage: the reverse lookup of
    derivatives. A hint only: the child's manifest stays the authority (stale markers are
    ignored when read)."""
    if not is_asset_id(parent_id) or not is_asset_id(child_id):
        raise InvalidInput("not an asset id")
    return f"{lineage_child_prefix(workspace, parent_id)}{child_id}"


def duplicate_policy_key(workspace: str) -> str:
    """A workspace's duplicate policy at ingest (allow, link, reject; near thresholds)."""
    return f"catalog/{check_workspace(workspace)}/settings/duplicates.json"


# -- blob references and garbage collection --------------------------------------------------

_REF_ID = re.compile(r"^[0-9a-f]{32}(\.v[1-9][0-9]{0,8})?$")


def is_ref_id(value: str) -> bool:
    """A blob reference id: an asset id (its current content) or `{asset_id}.v{n}`."""
    return bool(_REF_ID.fullmatch(value))


def version_ref_id(asset_id: str, number: int) -> str:
    """The reference id a kept version holds on its blob."""
    return f"{asset_id}.v{number}"


def blob_ref_prefix(sha256: str | None = None) -> str:
    """Every reference marker of one blob (all workspaces), or of all blobs."""
    if sha256 is None:
        return "refs/"
    if not _SHA256.fullmatch(sha256):
        raise InvalidInput("not a sha256 hex digest")
    return f"refs/{sha256[:2]}/{sha256}/"


def blob_ref_key(sha256: str, workspace: str, ref_id: str) -> str:
    """One use of a blob: an asset's current content or a kept version. A blob without any
    marker may be collected (see services/blobs.py)."""
    if not is_ref_id(ref_id):
        raise InvalidInput("not a blob reference id")
    return f"{blob_ref_prefix(sha256)}{check_workspace(workspace)}/{ref_id}"


def parse_blob_ref_key(key: str) -> tuple[str, str, str] | None:
    """(sha256, workspace, ref_id) of a reference marker key, None for anything else."""
    parts = key.split("/")
    if len(parts) != 5 or parts[0] != "refs" or not _SHA256.fullmatch(parts[2]):
        return None
    if not _WORKSPACE.fullmatch(parts[3]) or not is_ref_id(parts[4]):
        return None
    return parts[2], parts[3], parts[4]


def blob_gc_key(sha256: str) -> str:
    """The collection mark: exists while a collector is deciding about / removing a blob."""
    if not _SHA256.fullmatch(sha256):
        raise InvalidInput("not a sha256 hex digest")
    return f"gc/{sha256}"


def derived_prefix(sha256: str) -> str:
    """Everything derived from one blob: previews and cached vectors."""
    return f"derived/{sha256[:2]}/{sha256}/"


BLOB_REFS_COMPLETE_KEY = "system/blob-refs-complete.json"
MAINTENANCE_SCHEDULE_KEY = "system/maintenance-schedule.json"

# -- versions -------------------------------------------------------------------------------

VERSIONS_PREFIX = "versions/"


def version_workspace_prefix(workspace: str) -> str:
    return f"{VERSIONS_PREFIX}{check_workspace(workspace)}/"


def version_prefix(workspace: str, asset_id: str) -> str:
    return f"{version_workspace_prefix(workspace)}{asset_id}/"


def version_key(workspace: str, asset_id: str, number: int) -> str:
    """One kept version's record; zero-padded so listing order is numeric order."""
    return f"{version_prefix(workspace, asset_id)}{number:08d}.json"


def parse_version_key(key: str) -> tuple[str, str, int] | None:
    """(workspace, asset id, number) of a version record key."""
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != "versions" or not parts[3].endswith(".json"):
        return None
    digits = parts[3].removesuffix(".json")
    if not digits.isdigit() or not is_asset_id(parts[2]):
        return None
    return parts[1], parts[2], int(digits)


# -- trash ----------------------------------------------------------------------------------

PURGE_SCHEDULE_KEY = "system/purge-schedule.json"
# -- usage events ---------------------------------------------------------------------------

USAGE_PREFIX = "usage/"
USAGE_FOLD_SCHEDULE_KEY = "system/usage-fold-schedule.json"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_BATCH_ID = re.compile(r"^[0-9a-f]{32}$")


def usage_batch_prefix(workspace: str) -> str:
    return f"{USAGE_PREFIX}{check_workspace(workspace)}/"


def usage_batch_key(workspace: str, day: str, batch_id: str) -> str:
    """An append-only batch of usage events of one workspace and UTC day (YYYY-MM-DD),
    written once (create_only) and removed once folded into the workspace's summary."""
    if not _DAY.fullmatch(day) or not _BATCH_ID.fullmatch(batch_id):
        raise InvalidInput("not a usage batch name")
    return f"{usage_batch_prefix(workspace)}{day}/{batch_id}.json"


def parse_usage_batch_key(key: str) -> str | None:
    """The workspace of a usage batch key, or None for any other key."""
    parts = key.split("/")
    if (
        len(parts) != 4
        or f"{parts[0]}/" != USAGE_PREFIX
        or not _WORKSPACE.fullmatch(parts[1])
        or not _DAY.fullmatch(parts[2])
        or not parts[3].endswith(".json")
        or not _BATCH_ID.fullmatch(parts[3].removesuffix(".json"))
    ):
        return None
    return parts[1]


def usage_summary_key(workspace: str) -> str:
    """A workspace's folded usage counters (per asset, channel and day), updated by CAS."""
    return f"catalog/{check_workspace(workspace)}/usage.json"


# -- signed links ---------------------------------------------------------------------------


def signing_secret_key() -> str:
    """The generated HMAC secret of signed links (when settings give none): written once
    with create_only, so every process of a deployment signs and verifies with the same
    one."""
    return "system/signing-secret"


# -- idempotent writes ----------------------------------------------------------------------

IDEMPOTENCY_PREFIX = "idempotency/"
IDEMPOTENCY_SWEEP_SCHEDULE_KEY = "system/idempotency-sweep-schedule.json"


def idempotency_key(workspace: str, client_key: str) -> str:
    """The record of one client `Idempotency-Key` of a workspace (named by the key's
    SHA-256: client keys are free text, never a path component)."""
    digest = hashlib.sha256(client_key.encode()).hexdigest()
    return f"{IDEMPOTENCY_PREFIX}{check_workspace(workspace)}/{digest[:2]}/{digest}.json"
