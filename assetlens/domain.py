"""The domain model: what an asset is, as stored in its manifest."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A new asset id: 32 lowercase hex characters (UUID4)."""
    return uuid.uuid4().hex


class AssetType(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    FONT = "font"
    LOGO = "logo"
    TEXT = "text"
    OTHER = "other"


class AssetStatus(StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    DELETED = "deleted"


class Source(StrEnum):
    UPLOAD = "upload"
    GENERATION = "generation"
    IMPORT = "import"
    URL = "url"


class BulkAction(StrEnum):
    """What `POST /v1/assets/bulk` (and `assetlens assets bulk`) does to each asset."""

    TAG = "tag"
    UNTAG = "untag"
    MOVE = "move"
    FAVORITE = "favorite"
    UNFAVORITE = "unfavorite"
    DELETE = "delete"
    RESTORE = "restore"


class LoRA(BaseModel):
    name: str
    weight: float | None = None


class C2PAInfo(BaseModel):
    claim_generator: str | None = None
    actions: list[str] = Field(default_factory=list)
    digital_source_type: str | None = None
    validation_state: str | None = None
    issuer: str | None = None
    signed_at: str | None = None
    ingredients: list[str] = Field(default_factory=list)


# Checkpoints one generation may name (a ComfyUI graph with many samplers, refiners…).
MAX_MODELS = 16


class Generation(BaseModel):
    """Normalised generation provenance (PROVENANCE.md), parsed or given by the client."""

    model_config = ConfigDict(extra="forbid")

    generator: str | None = None
    prompt: str | None = None
    negative_prompt: str | None = None
    # The primary checkpoint (the one the main sampler used) …
    model: str | None = None
    # … and every checkpoint/UNet the workflow used, in order, the primary first (SDXL base
    # + refiner, a hires or img2img pass with another model): each counts in the model facet.
    models: list[str] = Field(default_factory=list, max_length=MAX_MODELS)
    model_hash: str | None = None
    vae: str | None = None
    loras: list[LoRA] = Field(default_factory=list)
    sampler: str | None = None
    scheduler: str | None = None
    seed: int | None = None
    steps: int | None = None
    cfg_scale: float | None = None
    width: int | None = None
    height: int | None = None
    denoise: float | None = None
    job_id: str | None = None
    provider: str | None = None
    cost: float | None = None
    source_asset_id: str | None = None
    # File names of the images a workflow loaded (ComfyUI LoadImage): lineage inputs.
    input_images: list[str] = Field(default_factory=list)
    ai_generated: bool | None = None
    c2pa: C2PAInfo | None = None
    # Every other string a workflow carried (e.g. each ComfyUI node's text inputs): searchable.
    texts: list[str] = Field(default_factory=list)
    raw: str | None = None

    @model_validator(mode="after")
    def _primary_first(self) -> Generation:
        return self.align_models()

    def align_models(self) -> Generation:
        """Make `model` and `models` agree (in place): `model` first in `models`, or the
        first of `models` as `model`; names distinct, at most MAX_MODELS."""
        names = [self.model] if self.model else []
        names += [name for name in self.models if name]
        aligned = list(dict.fromkeys(names))[:MAX_MODELS]
        # Assigned only on a change: a no-op must not mark the field as set by the client.
        if aligned != self.models:
            self.models = aligned
        if self.model is None and aligned:
            self.model = aligned[0]
        return self

    def merged_over(self, parsed: Generation | None) -> Generation:
        """This (client-given) provenance on top of `parsed`: set client fields win, and
        the model lists are united (the client's first, so its `model` is the primary)."""
        if parsed is None:
            return self
        mine = self.model_dump(exclude_unset=True, exclude_defaults=True)
        if "models" in mine or "model" in mine:
            mine["models"] = [*self.models, *parsed.models]
        return parsed.model_copy(update=mine).align_models()


class MediaInfo(BaseModel):
    """Technical metadata; which fields are set depends on the asset type."""

    format: str | None = None
    width: int | None = None
    height: int | None = None
    color_mode: str | None = None
    has_alpha: bool | None = None
    orientation: int | None = None
    frames: int | None = None
    duration: float | None = None
    fps: float | None = None
    codec: str | None = None
    has_audio: bool | None = None
    bitrate: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    family: str | None = None
    style: str | None = None
    weight: int | None = None
    glyphs: int | None = None
    scripts: list[str] = Field(default_factory=list)


class Asset(BaseModel):
    """One asset's manifest: the source of truth, stored as JSON beside its blob."""

    id: str = Field(default_factory=new_id)
    workspace: str
    name: str
    description: str = ""
    type: AssetType
    mime: str
    extension: str
    size_bytes: int
    sha256: str
    status: AssetStatus = AssetStatus.PROCESSING
    tags: list[str] = Field(default_factory=list)
    folder_id: str | None = None
    favorite: bool = False
    source: Source = Source.UPLOAD
    generation: Generation = Field(default_factory=Generation)
    generation_client: Generation | None = None
    generation_parsed: Generation | None = None
    media: MediaInfo | None = None
    phash: str | None = None
    duplicate_of: str | None = None
    previews: dict[str, str] = Field(default_factory=dict)
    lineage: list[str] = Field(default_factory=list)
    # How each parent in `lineage` was found: "source" (the client's source_asset_id),
    # "input" (a workflow's input image) or "ingredient" (a C2PA ingredient).
    lineage_relations: dict[str, str] = Field(default_factory=dict)
    # Where this asset is used (documents under the references service); kept on the
    # manifest and changed by compare-and-swap, so a delete and a new reference serialise.
    references_count: int = 0
    error: str | None = None
    revision: int = 1
    # The current version's number (the original upload is 1); see the versions service.
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    deleted_at: datetime | None = None
    deleted_from: AssetStatus | None = None

    def recompute_generation(self) -> None:
        """`generation` is derived: the client's fields over the ones parsed from the file."""
        client, parsed = self.generation_client, self.generation_parsed
        self.generation = client.merged_over(parsed) if client else (parsed or Generation())

    def searchable_texts(self) -> list[str]:
        """Extra free text indexed besides name, description, prompt and tags."""
        gen = self.generation
        return [t for t in (gen.negative_prompt, *gen.texts) if t]

    def public(self) -> dict[str, Any]:
        """The JSON the API shows (the workspace is implied by the caller's key)."""
        return self.model_dump(mode="json", exclude={"workspace", "deleted_from"})
