# Shared set-up for scripts/demo and scripts/test: installs what is missing, nothing else.
# Debian packages through apt-get; Python packages through pip. Idempotent and quiet when all is there.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"

DEBIAN_PACKAGES=(pkg-config libjansson-dev libopenblas-dev liblapacke-dev libsqlite3-dev zlib1g-dev)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "error: need root (or sudo) to install: $*" >&2; exit 1; fi
}

install_debian_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

install_python_packages() {
  local missing=()
  for spec in "$@"; do
    local module="${spec%%=*}"; module="${module%%[<>]*}"
    python3 -c "import ${module//-/_}" 2>/dev/null || missing+=("$spec")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing Python packages: ${missing[*]}"
    python3 -m pip install -q "${missing[@]}"
  fi
}

require_swift() {
  if ! command -v swift >/dev/null; then
    for d in /opt/swift/usr/bin /usr/share/swift/usr/bin; do [ -x "$d/swift" ] && export PATH="$d:$PATH"; done
  fi
  command -v swift >/dev/null || { echo "error: Swift 6 toolchain not found (swift.org/install); put swift on PATH" >&2; exit 1; }
}

setup_build() {
  require_swift
  install_debian_packages "${DEBIAN_PACKAGES[@]}"
}

# Builds with the given configuration; fails on any warning in the project's own code.
build() {
  local config="$1"; shift
  local log; log="$(mktemp)"
  echo "==> swift build -c $config $*"
  if ! swift build -c "$config" "$@" 2>&1 | tee "$log" | grep -E "error:|Compiling Saddle|Build complete|Build of" ; then :; fi
  if grep -E "error:" "$log" >/dev/null; then cat "$log" | grep -E "error:" -A3 | head -50; rm -f "$log"; exit 1; fi
  if grep -E "^($ROOT/)?(Sources|Tests|clients|benchmarks)/.*warning:" "$log" >/dev/null; then
    echo "error: the build has warnings in the project's code:" >&2
    grep -E "^($ROOT/)?(Sources|Tests|clients|benchmarks)/.*warning:" "$log" | sort -u >&2
    rm -f "$log"; exit 1
  fi
  rm -f "$log"
}

# The Swift sources, formatted as .swift-format says (STYLE.md): `swift format` ships with the toolchain.
# Fix findings with: swift format --in-place --parallel --recursive $SWIFT_SOURCES
SWIFT_SOURCES=(Sources Tests clients/terminal benchmarks/swift fuzz/Sources Package.swift)
lint_swift() {
  echo "==> swift format lint"
  if ! swift format --version >/dev/null 2>&1; then
    echo "error: swift format is missing from the toolchain; install a Swift 6 toolchain that ships it" >&2
    return 1
  fi
  (cd "$ROOT" && swift format lint --strict --parallel --recursive "${SWIFT_SOURCES[@]}")
}

