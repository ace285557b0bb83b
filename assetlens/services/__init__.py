"""Use cases: what the API and the CLI ask of the core."""
