"""What a client sends to create or change an asset, checked before anything is stored: the
upload form and its bytes, PATCH bodies, client-given provenance and JSON fields."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assetlens import media
from assetlens.config import Settings
from assetlens.domain import AssetType, Generation, Source
from assetlens.errors import InvalidInput, PayloadTooLarge
from assetlens.fields import (
    MAX_DESCRIPTION_CHARS,
    Description,
    FolderRef,
    Metadata,
    Name,
    Prompt,
    TagList,
    TypeName,
)
from assetlens.filters import index_cost
from assetlens.jsonguard import check_json_depth, check_numbers, check_surrogates
from assetlens.normalize import display_name
from assetlens.ports import UploadProver
from assetlens.services.duplicate_policy import PolicyName
from assetlens.spool import Spooled

MAX_DESCRIPTION = MAX_DESCRIPTION_CHARS


def parse_json_object(text: str, *, max_depth: int, what: str) -> dict[str, Any]:
    """A JSON object from untrusted text, refusing deep nesting before it costs anything."""
    check_json_depth(text, max_depth, what)
    check_surrogates(text, what, loc=("body", what))
    check_numbers(text, what, loc=("body", what))
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a JSON object")
    return value


@dataclass(slots=True)
class UploadForm:
    """The optional fields that come with an upload (already size-limited by the caller)."""

    name: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    folder_id: str | None = None
    prompt: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    type: str | None = None
    source: str | None = None
    # Provenance read server-side from a sidecar file (CLI ingest): trusted, like the file's.
    sidecar: Generation | None = None
    # Overrides the workspace's duplicate policy for this upload (CLI ingest --duplicates).
    duplicates: PolicyName | None = None
    # The new asset's id, when chosen before the upload runs (an idempotent request records
    # it first, so a retry after a crash can find the asset it made).
    asset_id: str | None = None


class UploadFields(BaseModel):
    """The text fields of an upload form, under the rules PATCH applies to the same fields
    (assetlens.fields)."""

    name: Name | None = None
    description: Description | None = None
    tags: TagList = Field(default_factory=list)
    folder_id: FolderRef | None = None
    prompt: Prompt | None = None
    metadata: Metadata = Field(default_factory=dict)
    type: TypeName | None = None
    source: TypeName | None = None

    def form(self) -> UploadForm:
        """The checked fields as the form the asset service takes."""
        return UploadForm(
            name=self.name,
            description=self.description,
            tags=self.tags,
            folder_id=self.folder_id,
            prompt=self.prompt,
            metadata=self.metadata,
            type=self.type,
            source=self.source,
        )


def upload_tags(fields: str | Sequence[str]) -> list[str]:
    """The tags of the upload form's `tags` fields: each of two or more fields is one tag
    (a comma stays in it, as in PATCH); a single field is comma-separated, so that
    `curl -F tags=a,b` and older clients keep working. Blank values are dropped."""
    values = [fields] if isinstance(fields, str) else list(fields)
    if len(values) == 1:
        values = values[0].split(",")
    return [tag for tag in values if tag.strip()]


def json_tags(text: str | Sequence[str], *, max_depth: int) -> list[str]:
    """The tags of the upload form's `tags_json` field: a JSON array of strings, each one
    tag whatever it holds (commas included); blank ones dropped."""
    if not isinstance(text, str):
        raise InvalidInput("tags_json must be one form field")
    check_json_depth(text, max_depth, "tags_json")
    check_surrogates(text, "tags_json", loc=("body", "tags_json"))
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"tags_json is not valid JSON: {exc}") from exc
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise InvalidInput("tags_json must be a JSON array of strings")
    return [tag for tag in value if tag.strip()]


def upload_form(fields: Mapping[str, str | Sequence[str]], *, max_json_depth: int) -> UploadForm:
    """The upload form from multipart text fields (`tags` as `upload_tags` reads it, all
    its values, or `tags_json` as `json_tags` does; `metadata` a JSON object); InvalidInput
    naming each field that breaks a rule."""
    values: dict[str, Any] = {
        k: v
        for k, v in fields.items()
        if k in UploadFields.model_fields and k not in ("tags", "metadata")
    }
    if fields.get("tags_json"):
        if upload_tags(fields.get("tags", [])):  # blank `tags` fields are no tags
            raise InvalidInput("send the tags as `tags` fields or as `tags_json`, not both")
        values["tags"] = json_tags(fields["tags_json"], max_depth=max_json_depth)
    elif fields.get("tags"):
        values["tags"] = upload_tags(fields["tags"])
    metadata = fields.get("metadata")
    if metadata:
        if not isinstance(metadata, str):
            raise InvalidInput("metadata must be one form field")
        values["metadata"] = parse_json_object(metadata, max_depth=max_json_depth, what="metadata")
    try:
        return UploadFields.model_validate(values).form()
    except ValidationError as exc:
        raise invalid_input(exc, loc=("body",)) from exc


def invalid_input(exc: ValidationError, *, loc: tuple[str, ...] = ()) -> InvalidInput:
    """A pydantic error as the 422 problem FastAPI's own validation answers (errors[].loc)."""
    errors = [
        {"loc": [*loc, *(str(p) for p in err["loc"])], "msg": err["msg"]} for err in exc.errors()
    ][:20]
    error = InvalidInput("; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5]))
    error.extra["errors"] = errors
    return error


class AssetPatch(BaseModel):
    """Fields a client may change with PATCH; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
    tags: TagList | None = None
    folder_id: FolderRef | None = None
    prompt: Prompt | None = None
    metadata: Metadata | None = None
    favorite: bool | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else display_name(value)


# Only Assetlens sets these, from the file itself: a client must not be able to claim a
# C2PA validation result or hide that a file is AI-generated.
SERVER_ONLY_GENERATION_FIELDS = frozenset({"ai_generated", "c2pa", "texts", "raw", "input_images"})


def client_generation(prompt: str | None, metadata: dict[str, Any]) -> Generation | None:
    """Client-given provenance from the `prompt` field and `metadata` JSON."""
    forbidden = sorted(SERVER_ONLY_GENERATION_FIELDS & set(metadata))
    if forbidden:
        raise InvalidInput(f"metadata fields set from the file only: {', '.join(forbidden)}")
    fields = dict(metadata)
    if prompt:
        fields["prompt"] = prompt
    if not fields:
        return None
    try:
        generation = Generation.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise InvalidInput(f"invalid metadata: {problems}") from exc
    # Checked here, not on the model: manifests stored before must still load.
    if generation.cost is not None and index_cost(generation.cost) is None:
        raise InvalidInput("invalid metadata: cost: must be a finite number, 0 or more")
    return generation


def inspect_upload(
    settings: Settings, spooled: Spooled, requested_type: str | None, prover: UploadProver
) -> tuple[media.Inspection, AssetType]:
    """Validate spooled bytes as an upload (sniffed type against the extension, the pixel
    proof, both by `prover`; the per-type size limit); the inspection and the asset type
    they may be stored as (`requested_type`, e.g. logo for a PNG, when given and
    compatible)."""
    inspection = prover.prove(
        spooled.path, spooled.filename, max_image_pixels=settings.max_image_pixels
    )
    asset_type = inspection.type
    if requested_type:
        asset_type = _requested_type(requested_type, inspection.type, inspection.mime)
    limit = settings.max_bytes_for(asset_type.value)
    if spooled.size > limit:
        raise PayloadTooLarge(f"{asset_type.value} files are limited to {limit} bytes")
    return inspection, asset_type


def _requested_type(requested: str, sniffed: AssetType, mime: str) -> AssetType:
    try:
        wanted = AssetType(requested)
    except ValueError as exc:
        raise InvalidInput(f"unknown asset type {requested!r}") from exc
    if wanted == sniffed:
        return wanted
    if wanted is AssetType.LOGO and mime in ("image/png", "image/svg+xml", "image/webp"):
        return wanted
    raise InvalidInput(f"a {mime} file cannot be stored as type {wanted.value}")


def upload_source(requested: str | None, generation: Generation | None) -> Source:
    """Where an upload came from: as the client says, else a generation when its
    provenance names a provider or job, else a plain upload."""
    if requested:
        try:
            return Source(requested)
        except ValueError as exc:
            raise InvalidInput(f"unknown source {requested!r}") from exc
    if generation and (generation.provider or generation.job_id):
        return Source.GENERATION
    return Source.UPLOAD
