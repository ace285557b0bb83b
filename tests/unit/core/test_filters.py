"""The filter model's map from each facet to the Filters field its values select."""

from __future__ import annotations

import pytest

from assetlens.domain import AssetStatus, AssetType
from assetlens.filters import FACET_FILTER_FIELDS, Facet, Filters

# A selection of one value in each facet's field.
SELECTED = Filters(
    type=[AssetType.IMAGE], tags=["cat"], folder_id=["f1"], model=["sdxl"], provider=["local"],
    source=["generation"], generator=["comfyui"], sampler=["euler"], loras=["detail"],
    ai_generated=True, status=[AssetStatus.READY], favorite=True, created_month=["2024-04"],
    size_range=["<100KB"], cost_range=["0"],
)  # fmt: skip


def test_every_facet_selects_a_field_of_filters() -> None:
    assert set(FACET_FILTER_FIELDS) == set(Facet)
    assert set(FACET_FILTER_FIELDS.values()) <= set(Filters.model_fields)
    assert FACET_FILTER_FIELDS[Facet.FOLDER] == "folder_id"
    assert FACET_FILTER_FIELDS[Facet.CREATED] == "created_month"


@pytest.mark.parametrize("facet", [f for f in Facet if f is not Facet.STATUS])
def test_without_a_facet_drops_its_field_alone(facet: Facet) -> None:
    field = FACET_FILTER_FIELDS[facet]
    dropped = SELECTED.without(facet)
    assert getattr(dropped, field) in (None, [])
    others = {k: v for k, v in SELECTED.model_dump().items() if k != field}
    assert {k: v for k, v in dropped.model_dump().items() if k != field} == others
