#!/usr/bin/env bash
# Imported (ONNX) reference networks against the native engine, in distribution: 32,768
# networks each, *independent* seeds (native seed 0, imported seed 1), marginal estimator,
# zero probe and a Gaussian probe (for the U-Net the latter avoids the x = 0 rounding of the
# exported GroupNorm; for the DiT it makes the estimate random). Prints `sad geometry compare`
# for each pair (k = 8, and k = p²C for the DiT, whose eigenvalues come in p²C-fold groups)
# and the wall time of each run. Usage: Benchmarks/onnx-acceptance.sh [FIXTURES_DIR] [NETWORKS] [OUT]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fixtures="${1:-$root/../shared/fixtures/onnx}"
networks="${2:-32768}"
out="${3:-$root/runs/onnx-acceptance}"
sad="${SAD:-$root/scripts/sad}"
mkdir -p "$out"
run() {  # name, args…
    local name="$1"; shift
    local start=$SECONDS
    "$sad" geometry "$@" --networks "$networks" --out "$out/$name" > "$out/$name.log" 2>&1
    echo "$name: $((SECONDS - start)) s"
}
for pair in "iddpm-1x16x16-nearest:builtin:1x16x16-iddpm:--interpolation nearest" \
            "iddpm-1x16x16-area:builtin:1x16x16-iddpm:--interpolation area" \
            "dit-1x16x16-p2:builtin:1x16x16-dit:--patch-size 2" \
            "dit-1x16x16-p4:builtin:1x16x16-dit:--patch-size 4"; do
    IFS=: read -r name b1 b2 extra <<< "$pair"
    probes=(zero)
    probes+=(gaussian:1)
    for probe in "${probes[@]}"; do
        tag="$name-${probe%%:*}"
        # shellcheck disable=SC2086
        run "$tag-native" --config "$b1:$b2" $extra --estimator marginal --probe "$probe" --seed 0
        run "$tag-onnx" --onnx "$fixtures/$name.seed0.onnx" --onnx "$fixtures/$name.seed1.onnx" \
            --estimator marginal --probe "$probe" --seed 1
        echo "== $tag: native (seed 0) vs imported (seed 1), $networks networks each"
        "$sad" geometry compare "$out/$tag-native" "$out/$tag-onnx"
        [[ "$name" == dit*p2 ]] && "$sad" geometry compare "$out/$tag-native" "$out/$tag-onnx" --k 4 | tail -1
        [[ "$name" == dit*p4 ]] && "$sad" geometry compare "$out/$tag-native" "$out/$tag-onnx" --k 16 | tail -1
        true
    done
done
