"""Search index adapters: `indexer.embedded` (SQLite FTS5 + exact vectors, one machine) and
`indexer.elasticsearch` (production). Both implement `assetlens.ports.SearchIndex`."""
