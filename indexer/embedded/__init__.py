"""The embedded search index: SQLite FTS5 for text, filters and facets, exact in-memory
vector search for kNN. One machine, no server."""

from indexer.embedded.index import EmbeddedSearchIndex

__all__ = ["EmbeddedSearchIndex"]
