"""Reading every asset id a filter selects from the index, page by page."""

from __future__ import annotations

from assetlens.filters import Filters
from assetlens.ports import SearchIndex
from assetlens.query import MAX_LIMIT, SearchQuery, Sort, SortField


def matching_ids(index: SearchIndex, workspace: str, filters: Filters) -> list[str]:
    """The ids of every asset of `workspace` passing `filters`, oldest first.

    Collected before the caller changes anything: the cursor holds (created_at, id), so
    assets that drop out of the filter while paging never shift the pages after them.
    """
    sort = Sort(field=SortField.CREATED_AT, descending=False)
    found: list[str] = []
    cursor: str | None = None
    while True:
        page = index.search(
            SearchQuery(
                workspace=workspace, filters=filters, sort=sort, limit=MAX_LIMIT, cursor=cursor
            )
        )
        found.extend(hit.asset.id for hit in page.hits)
        cursor = page.next_cursor
        if cursor is None or not page.hits:
            return found
