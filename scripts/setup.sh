#!/usr/bin/env bash
# Creates (or reuses) the project virtualenv and installs Assetlens into it.
# The venv lives outside the checkout so CI runs and later sessions reuse torch (~GBs).
# Usage: source <(scripts/setup.sh --print-env)   or   scripts/setup.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${ASSETLENS_VENV:-$HOME/.cache/assetlens/venv}"
python="${ASSETLENS_PYTHON:-}"

pick_python() {
  for candidate in python3.11 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "error: Python >= 3.11 is required" >&2
  return 1
}

if [[ ! -x "$venv/bin/python" ]]; then
  python="${python:-$(pick_python)}"
  echo "creating virtualenv $venv with $python" >&2
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
fi

# Re-install only when the dependency list changed (pip would re-resolve torch otherwise).
stamp="$venv/.assetlens-deps"
want="$(sha256sum "$root/pyproject.toml" | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
  echo "installing Assetlens and its dependencies into $venv" >&2
  "$venv/bin/pip" install --quiet -e "$root[clip,dev]"
  echo "$want" > "$stamp"
else
  # The checkout may have moved (fresh clone): point the editable install at it.
  "$venv/bin/pip" install --quiet --no-deps -e "$root" >/dev/null
fi

if [[ "${1:-}" == "--print-env" ]]; then
  echo "export PATH=\"$venv/bin:\$PATH\""
  echo "export VIRTUAL_ENV=\"$venv\""
fi
