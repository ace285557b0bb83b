#!/usr/bin/env bash
# The main job on a fresh machine: set up, make sample assets, ingest them, serve API + docs.
# Embedded mode: everything lives in ${ASSETLENS_DATA_DIR:-./data}. Extra arguments go to
# `assetlens demo` (e.g. --port 8080, --no-serve).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
eval "$(bash scripts/setup.sh --print-env)"
exec assetlens demo "$@"
