"""Helpers shared by the test suites (fixtures data, tiny models)."""
