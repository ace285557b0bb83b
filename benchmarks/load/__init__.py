"""Load runs against `assetlens serve` (docs/RELIABILITY.md, "Load")."""
