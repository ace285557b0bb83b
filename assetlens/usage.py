"""Usage events (views and downloads of assets) and the per-workspace summary they are
folded into. Stored in the object store: batches of events under `usage/{ws}/{day}/`,
the summary at `catalog/{ws}/usage.json` (assetlens.layout)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, Field, ValidationError

# Days kept in a summary's per-day counters (the per-asset counters are kept for good).
SUMMARY_DAYS = 400


class UsageKind(StrEnum):
    """An inline view of an asset's content, or a download (served as an attachment)."""

    VIEW = "view"
    DOWNLOAD = "download"


class Channel(StrEnum):
    """How the content was reached: an API key, the web UI (a browser session) or a signed
    link (no credentials)."""

    API = "api"
    UI = "ui"
    SIGNED_LINK = "signed_link"


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One counted use of an asset's content; `at` is seconds since the epoch."""

    workspace: str
    asset_id: str
    kind: UsageKind
    channel: Channel
    at: float

    @property
    def day(self) -> str:
        return datetime.fromtimestamp(self.at, UTC).strftime("%Y-%m-%d")


class StoredEvent(BaseModel):
    """An event inside a batch (the batch key names its workspace and day)."""

    asset_id: str = Field(max_length=64)
    kind: UsageKind
    channel: Channel
    at: float


class UsageBatch(BaseModel):
    """An append-only batch object: the events one process buffered for one workspace and
    day between two flushes."""

    events: list[StoredEvent]

    @classmethod
    def parse(cls, data: bytes) -> UsageBatch | None:
        """The batch, or None when the object is not one (it is then skipped, not fatal)."""
        try:
            return cls.model_validate_json(data)
        except ValidationError:
            return None


class AssetUsage(BaseModel):
    views: int = 0
    downloads: int = 0


class UsageSummary(BaseModel):
    """A workspace's usage counters, folded from its batches. `folded` names the batches
    already counted that may still exist (their deletion follows the summary's write): a
    later fold skips and deletes them instead of counting them twice."""

    assets: dict[str, AssetUsage] = Field(default_factory=dict)
    # kind → channel → count
    channels: dict[str, dict[str, int]] = Field(default_factory=dict)
    # UTC day (YYYY-MM-DD) → kind → count
    days: dict[str, dict[str, int]] = Field(default_factory=dict)
    folded: list[str] = Field(default_factory=list)
    updated_at: datetime | None = None

    def add(self, batch: UsageBatch) -> None:
        """Count every event of `batch`."""
        for event in batch.events:
            counters = self.assets.setdefault(event.asset_id, AssetUsage())
            if event.kind is UsageKind.VIEW:
                counters.views += 1
            else:
                counters.downloads += 1
            by_channel = self.channels.setdefault(event.kind.value, {})
            by_channel[event.channel.value] = by_channel.get(event.channel.value, 0) + 1
            day = datetime.fromtimestamp(event.at, UTC).strftime("%Y-%m-%d")
            by_kind = self.days.setdefault(day, {})
            by_kind[event.kind.value] = by_kind.get(event.kind.value, 0) + 1
        for day in sorted(self.days)[:-SUMMARY_DAYS]:
            del self.days[day]

    def total(self, kind: UsageKind) -> int:
        return sum(self.channels.get(kind.value, {}).values())

    def ranked(self, kind: UsageKind) -> list[tuple[str, int]]:
        """(asset id, count) of the assets used this way, most first; ties by id."""
        counts = [
            (asset_id, usage.views if kind is UsageKind.VIEW else usage.downloads)
            for asset_id, usage in self.assets.items()
        ]
        return sorted(((a, n) for a, n in counts if n > 0), key=lambda p: (-p[1], p[0]))
