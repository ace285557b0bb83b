#!/usr/bin/env bash
# The test command: set up the venv, start real Elasticsearch and MinIO, lint, type-check,
# and run the whole suite. Extra arguments go to pytest.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
eval "$(bash scripts/setup.sh --print-env)"

if [[ "${ASSETLENS_SKIP_SERVICES:-0}" != "1" ]]; then
  bash scripts/services.sh start
  set -a
  # shellcheck disable=SC1090
  source <(bash scripts/services.sh env)
  set +a
  trap 'bash scripts/services.sh stop' EXIT
fi

echo "== ruff"; ruff check .
echo "== mypy"; mypy
echo "== pytest"
set +e
pytest -p no:cacheprovider "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit $status
