#!/usr/bin/env bash
# Starts, stops or checks the real servers the integration tests use: Elasticsearch (our
# launcher over the Maven Central artifacts) and MinIO (built with `go install`).
# Usage: scripts/services.sh start|stop|status|env
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
services_dir="${ASSETLENS_SERVICES_DIR:-$HOME/.cache/assetlens/services}"

case "${1:-}" in
  start)
    # Build both first (MinIO's go build and the Maven build share 2 cores badly at once).
    bash "$here/es-node.sh" build
    bash "$here/minio.sh" build
    bash "$here/es-node.sh" start
    bash "$here/minio.sh" start
    ;;
  stop)
    bash "$here/minio.sh" stop || true
    bash "$here/es-node.sh" stop || true
    ;;
  status)
    bash "$here/es-node.sh" status && bash "$here/minio.sh" status
    ;;
  env)
    # Lines of KEY=VALUE for the running servers (source with `set -a`).
    cat "$services_dir/es.env" "$services_dir/minio.env"
    ;;
  *)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
