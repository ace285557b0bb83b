#!/usr/bin/env bash
# Creates (or reuses) the project virtualenv and installs Assetlens into it.
# The venv lives outside the checkout so CI runs and later sessions reuse torch (~GBs).
# One venv's editable install points at ONE checkout. When the shared venv already belongs
# to another checkout that still exists, this one gets a small venv of its own layered on
# the shared one ($ASSETLENS_VENV-<hash of this checkout's path>: its packages, torch
# included, are imported from the shared venv, never installed twice), so setting up a
# second clone never repoints the first clone's `assetlens`.
#
# Usage: eval "$(scripts/setup.sh --print-env)"   # set up, then PATH for this shell
#        scripts/setup.sh [--link]                # set up; --link: ~/.local/bin/assetlens
#        scripts/setup.sh --dry-run               # say which venv and what it would do
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${ASSETLENS_VENV:-$HOME/.cache/assetlens/venv}"
python="${ASSETLENS_PYTHON:-}"
mode="${1:-}"
case "$mode" in
  ""|--print-env|--link|--dry-run) ;;
  *) echo "usage: scripts/setup.sh [--print-env|--link|--dry-run]" >&2; exit 2 ;;
esac

say() { echo "$*" >&2; }

pick_python() {
  for candidate in python3.11 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  say "error: Python >= 3.11 is required"
  return 1
}

# The checkout a venv's `assetlens` is installed from ("" when none): asked from outside
# any checkout and without PYTHONPATH, so that only the venv's own install answers.
owner_of() {
  [[ -x "$1/bin/python" ]] || return 0
  (cd / && env -u PYTHONPATH "$1/bin/python" -c \
    'import assetlens, pathlib; print(pathlib.Path(assetlens.__file__).resolve().parents[1])' \
    2>/dev/null) || true
}

site_packages() {
  "$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
}

# Every package directory a venv's python imports from (its own, and any it is layered on).
package_dirs() {
  (cd / && env -u PYTHONPATH "$1/bin/python" -c 'import sys
print("\n".join(p for p in sys.path if p.rstrip("/").endswith(("site-packages", "dist-packages"))))')
}

# Which venv this checkout uses, and why.
owner="$(owner_of "$shared")"
if [[ ! -x "$shared/bin/python" ]]; then
  venv="$shared"; plan="create the shared venv $shared and install this checkout into it"
elif [[ "$owner" == "$root" ]]; then
  venv="$shared"; plan="use the shared venv $shared (this checkout's)"
elif [[ -z "$owner" ]]; then
  # Nothing importable: never installed, or installed from a checkout since removed.
  venv="$shared"; plan="use the shared venv $shared and install this checkout into it"
elif [[ ! -f "$owner/pyproject.toml" ]]; then
  venv="$shared"; plan="use the shared venv $shared, taking it over from $owner (gone)"
else
  hash="$(printf '%s' "$root" | sha256sum | cut -c1-12)"
  venv="$shared-$hash"
  plan="use $venv, layered on the shared venv $shared (which belongs to $owner)"
fi

if [[ "$mode" == "--dry-run" ]]; then
  echo "checkout: $root"
  echo "venv: $venv"
  echo "plan: $plan"
  exit 0
fi
say "setup: $plan"

if [[ ! -x "$shared/bin/python" ]]; then
  python="${python:-$(pick_python)}"
  say "creating virtualenv $shared with $python"
  "$python" -m venv "$shared"
  "$shared/bin/pip" install --quiet --upgrade pip
fi
if [[ "$venv" != "$shared" && ! -x "$venv/bin/python" ]]; then
  say "creating virtualenv $venv on top of $shared"
  "$shared/bin/python" -m venv "$venv"
  # Plain path lines (not processed as site dirs): the shared packages are importable, the
  # other checkout's editable-install hook is not.
  package_dirs "$shared" > "$(site_packages "$venv")/_assetlens_shared.pth"
fi

# Re-install only when the dependency list changed (pip would re-resolve torch otherwise).
# In a layered venv pip finds the shared packages installed and adds only what is missing.
stamp="$venv/.assetlens-deps"
want="$(sha256sum "$root/pyproject.toml" | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
  say "installing Assetlens and its dependencies into $venv"
  "$venv/bin/pip" install --quiet -e "$root[clip,dev]"
  echo "$want" > "$stamp"
elif [[ "$(owner_of "$venv")" != "$root" ]]; then
  # A fresh clone at a new path, or the venv taken over: point the editable install here.
  "$venv/bin/pip" install --quiet --no-deps -e "$root" >/dev/null
fi

# PATH: this checkout's venv first (its `assetlens` and `python`), then the shared one's
# tools (pytest, ruff, mypy: they run this checkout's code from its directory).
path_dirs="$venv/bin"
if [[ "$venv" != "$shared" ]]; then path_dirs="$venv/bin:$shared/bin"; fi

if [[ "$mode" == "--print-env" ]]; then
  echo "export PATH=\"$path_dirs:\$PATH\""
  echo "export VIRTUAL_ENV=\"$venv\""
  exit 0
fi

# `assetlens` in a new shell: a link in ~/.local/bin when asked and that is on PATH (and
# not another checkout's link), else the line to add to the shell's profile.
bin_dir="$HOME/.local/bin"
link="$bin_dir/assetlens"
if [[ "$mode" == "--link" && ":$PATH:" == *":$bin_dir:"* ]]; then
  current="$(readlink "$link" 2>/dev/null || true)"
  if [[ -z "$current" || "$current" == "$venv/bin/assetlens" || ! -e "$current" ]]; then
    mkdir -p "$bin_dir"
    ln -sfn "$venv/bin/assetlens" "$link"
    say "linked $link -> $venv/bin/assetlens: \`assetlens\` works in every new shell"
    exit 0
  fi
  say "$link already runs another checkout's assetlens ($current); left as it is"
fi
say "ready. For \`assetlens\` in this shell:  eval \"\$(scripts/setup.sh --print-env)\""
say "in every new shell, add to your ~/.bashrc or ~/.profile:  export PATH=\"$venv/bin:\$PATH\""
