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

# The browser tests (tests/e2e) drive Debian's chromium; they fail, not skip, in CI without it.
if ! command -v chromium >/dev/null 2>&1; then
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing chromium for the browser tests"
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  elif [[ -n "${CI:-}" ]]; then
    echo "chromium is missing and cannot be installed here (not root): the browser tests" \
         "need it — apt-get install -y chromium" >&2
    exit 1
  else
    echo "note: chromium is not installed; the browser tests (tests/e2e) will skip" >&2
  fi
fi

echo "== ruff"; ruff check .; ruff format --check .
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
