"""Request and response bodies of the signed-link and import-from-URL routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from assetlens.fields import Description, FolderRef, Metadata, Name, Prompt, TagList, TypeName
from assetlens.signing import Disposition


class SignedUrlIn(BaseModel):
    """A signed link to make: its lifetime (bounded by `signed_url_max_seconds`), how the
    browser should treat the file, and a preview size instead of the original."""

    model_config = ConfigDict(extra="forbid")

    expires_in: int = Field(default=3600, description="seconds, 1 to the configured maximum")
    disposition: Disposition = Disposition.INLINE
    thumbnail: str | None = Field(
        default=None,
        pattern="^(small|medium)$",
        description="serve this preview size instead of the file",
    )


class SignedUrlOut(BaseModel):
    """A URL that serves the asset without a key until `expires_at`."""

    url: str
    expires_at: datetime


class UrlImportIn(BaseModel):
    """A file to fetch from a public http(s) URL, with the fields of an upload."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=4096)
    name: Name | None = None
    description: Description | None = None
    tags: TagList = Field(default_factory=list)
    folder_id: FolderRef | None = None
    prompt: Prompt | None = None
    metadata: Metadata = Field(default_factory=dict)
    type: TypeName | None = Field(default=None, description="e.g. logo for a PNG logo")
