"""Object store adapters: `LocalObjectStore` (filesystem, embedded mode) and S3/MinIO."""

from storage.keys import validate_key, validate_prefix
from storage.local import LocalObjectStore

__all__ = ["LocalObjectStore", "validate_key", "validate_prefix"]
