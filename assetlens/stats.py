"""What a search index reports about one workspace's library (`SearchIndex.stats`): counts,
bytes and generation cost, grouped by type, model, provider and month; the trash; and the
storage used with each blob counted once. Both index adapters finish their raw groups with
`finish_groups`, so they order, cut and round identically."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, Field

# Groups kept per dimension (models and providers can be many; the top ones by cost).
MAX_GROUPS = 100
# Costs are summed as doubles in different orders by each backend: rounded to this many
# decimals (a millionth of the currency unit) they agree.
COST_DECIMALS = 6


def round_cost(value: float) -> float:
    return round(float(value), COST_DECIMALS)


class Totals(BaseModel):
    """How many assets, their bytes, and the sum of the costs of the `priced` ones (those
    with a generation cost)."""

    assets: int = 0
    bytes: int = 0
    cost: float = 0.0
    priced: int = 0


class GroupTotals(Totals):
    """The totals of the assets sharing one value (a type, model, provider or month)."""

    value: str


class StatsGroup(StrEnum):
    """The dimensions stats are grouped by; each sorts its groups its own way."""

    TYPE = "type"
    MODEL = "model"
    PROVIDER = "provider"
    MONTH = "month"


class IndexStats(BaseModel):
    """One workspace's library as the index sees it. `live` and the groups cover the assets
    not in the trash; `trash` the deleted ones; `storage_*` every asset (the trash still
    holds its blobs), each distinct blob (sha256) counted once."""

    live: Totals = Field(default_factory=Totals)
    by_type: list[GroupTotals] = Field(default_factory=list)
    by_model: list[GroupTotals] = Field(default_factory=list)
    by_provider: list[GroupTotals] = Field(default_factory=list)
    by_month: list[GroupTotals] = Field(default_factory=list)
    trash: Totals = Field(default_factory=Totals)
    storage_blobs: int = 0
    storage_bytes: int = 0


def totals(assets: int, size: int | float | None, cost: float | None, priced: int) -> Totals:
    """Totals from raw aggregates (a missing sum is zero; the cost rounded)."""
    return Totals(
        assets=int(assets), bytes=int(size or 0), cost=round_cost(cost or 0.0), priced=int(priced)
    )


def finish_groups(group: StatsGroup, rows: Iterable[GroupTotals]) -> list[GroupTotals]:
    """Groups in their dimension's order, at most MAX_GROUPS: types by count, models and
    providers by cost then count, months newest first; ties by value."""
    items = list(rows)
    if group is StatsGroup.MONTH:
        items.sort(key=lambda g: g.value, reverse=True)
    elif group is StatsGroup.TYPE:
        items.sort(key=lambda g: (-g.assets, g.value))
    else:
        items.sort(key=lambda g: (-g.cost, -g.assets, g.value))
    return items[:MAX_GROUPS]
