"""The Python client of the Assetlens API (sync and asyncio), typed with the server's own
pydantic models, plus `track()`: durable, exactly-once background uploads for generation
apps. Imports only httpx and pydantic (no FastAPI, no torch). See docs/CLIENT.md.

    from assetlens.client import AssetlensClient

    with AssetlensClient("http://127.0.0.1:8000", api_key) as client:
        asset = client.upload("out.png", prompt="a red fox", metadata={"model": "sdxl"})
        for hit in client.iter_search("fox", filters={"type": ["image"]}):
            print(hit.asset.name)
"""

from assetlens.client.aio import AsyncAssetlensClient
from assetlens.client.errors import (
    AuthError,
    BadRequestError,
    ClientError,
    ConflictError,
    ConnectionFailed,
    NotFoundError,
    PayloadTooLargeError,
    PreconditionFailedError,
    ProblemError,
    RateLimitedError,
    UnavailableError,
    ValidationError,
)
from assetlens.client.models import (
    Asset,
    Facet,
    FacetBucket,
    Filters,
    Generation,
    SearchHit,
    SearchMode,
    SearchPage,
)
from assetlens.client.outbox import DeliveryPolicy, ItemState, ItemStatus, Outbox
from assetlens.client.retry import RetryPolicy
from assetlens.client.sync import AssetlensClient

__all__ = [
    "Asset",
    "AssetlensClient",
    "AsyncAssetlensClient",
    "AuthError",
    "BadRequestError",
    "ClientError",
    "ConflictError",
    "ConnectionFailed",
    "DeliveryPolicy",
    "Facet",
    "FacetBucket",
    "Filters",
    "Generation",
    "ItemState",
    "ItemStatus",
    "NotFoundError",
    "Outbox",
    "PayloadTooLargeError",
    "PreconditionFailedError",
    "ProblemError",
    "RateLimitedError",
    "RetryPolicy",
    "SearchHit",
    "SearchMode",
    "SearchPage",
    "UnavailableError",
    "ValidationError",
]
