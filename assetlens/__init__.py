"""Assetlens core: domain model, ports, services and wiring."""

__version__ = "0.1.0"
