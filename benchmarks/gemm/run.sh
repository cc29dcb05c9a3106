#!/bin/sh
# Single-threaded GEMM throughput: OpenBLAS called directly from C (the reference) against the
# same call through Saddle's `BLASScalar.gemm` (Swift, -O, compiled with the SaddleMath source).
# Prints GFLOP/s for both and the ratio Swift / C per precision and size
# (m×k times k×n: 128×784×256, 256×256×128, 512³, 1024³).
# Usage: benchmarks/gemm/run.sh      (from anywhere; needs cc, swiftc, pkg-config, libopenblas-dev)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OPENBLAS_NUM_THREADS=1

cc -O2 -o "$work/gemm_reference" "$here/gemm_reference.c" $(pkg-config --cflags --libs openblas)
blas_include=$(pkg-config --cflags-only-I openblas | sed 's/^ *-I//; s/ *$//')
blas_libs=$(pkg-config --libs-only-L openblas | sed 's/^ *-L//; s/ *$//')
swiftc -O -module-name GemmBench -I "$root/Sources/CBLAS" -Xcc -I"$blas_include" -L"$blas_libs" -lopenblas \
    "$root/Sources/SaddleMath/BLASScalar.swift" "$here/main.swift" -o "$work/gemm_swift"

# Alternate the two programs for ROUNDS rounds (default 2) and keep each row's best, so that
# load from other processes on a shared machine penalizes neither side systematically.
rounds=${ROUNDS:-2}
: > "$work/c.all"; : > "$work/swift.all"
i=0
while [ "$i" -lt "$rounds" ]; do
    "$work/gemm_reference" >> "$work/c.all"
    "$work/gemm_swift" >> "$work/swift.all"
    i=$((i + 1))
done
best() { awk '{ key = $1 " " $2 " " $3 " " $4; if (!(key in b) || $5 > b[key]) b[key] = $5; if (!(key in o)) { o[key] = n++ } }
              END { for (k in o) print o[k], k, b[k] }' "$1" | sort -n | cut -d' ' -f2-; }
best "$work/c.all" > "$work/c.txt"
best "$work/swift.all" > "$work/swift.txt"

printf '%-6s %-16s %12s %12s %7s\n' kernel "m×k×n" "C GFLOP/s" "Swift GFLOP/s" ratio
paste -d' ' "$work/c.txt" "$work/swift.txt" | awk '{
    printf "%-6s %-16s %12.2f %12.2f %7.3f\n", $1, $2 "x" $3 "x" $4, $5, $10, ($5 > 0 ? $10 / $5 : 0)
}'
