#!/usr/bin/env bash
# The image-scale geometry measurements of docs/PERFORMANCE.md and docs/RESULTS.md, one after
# the other on an otherwise idle machine (they compete for the cores):
#   1. time to stable SADs for the reference configs (`sad bench`, ≤ 300 s each);
#   2. the 3×64×64 U-Net, factored, 8,192 networks (the ≤ 30 min run);
#   3. the matrix-free sketch against the dense estimate at 1×56×56 (same 512 networks);
#   4. the sketch's top-16 SADs at 1×128×128 (K would be 2 GiB, its accumulator 4 GiB).
# Usage: Benchmarks/image-scale.sh [OUT] [STEPS…] (steps 1-4, default all).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/runs/image-scale}"
shift || true
steps=("${@:-1 2 3 4}")
sad="${SAD:-$root/scripts/sad}"
configs="$root/configs"
mkdir -p "$out"
timed() {  # name, command…
    local name="$1"; shift
    local start=$SECONDS
    "$@" > "$out/$name.log" 2>&1
    echo "$name: $((SECONDS - start)) s (log: $out/$name.log)"
}
for step in ${steps[*]}; do
    case "$step" in
    1) timed time-to-stable "$sad" bench --no-training --repetitions 1 --config-directory "$configs" \
           --stable-configs 1x28x28-iddpm,3x32x32-iddpm,1x56x56-iddpm --stable-time-limit 300 ;;
    2) timed rgb64 "$sad" geometry --config "$configs/3x64x64-iddpm.json" --networks 8192 --chunk-size 64 \
           --out "$out/rgb64" ;;
    3) timed dense56 "$sad" geometry --config "$configs/1x56x56-iddpm.json" --networks 512 --chunk-size 16 \
           --seed 5 --out "$out/dense56"
       timed sketch56 "$sad" geometry sketch --config "$configs/1x56x56-iddpm.json" --networks 512 \
           --chunk-size 16 --seed 5 --k 16 --oversampling 48 --passes 4 --compare "$out/dense56" --out "$out/sketch56" ;;
    4) timed sketch128 "$sad" geometry sketch --config "$configs/1x128x128-iddpm.json" --networks 1024 \
           --chunk-size 16 --k 16 --oversampling 48 --passes 4 --out "$out/sketch128" ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
    esac
done
