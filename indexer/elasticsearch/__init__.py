"""The Elasticsearch search index (production): strict mapping, alias-switched rebuilds,
revision-ordered upserts, and one module translating the core's query model."""

from indexer.elasticsearch.failures import IndexRejected
from indexer.elasticsearch.index import ElasticsearchIndex

__all__ = ["ElasticsearchIndex", "IndexRejected"]
