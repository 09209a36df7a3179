#!/usr/bin/env bash
# Where the Fig. 11 gap comes from (issue 15, item 5): the Eq. 30 similarity (h = 1) of the first
# 10 SADs of the iDDPM U-Net (nearest) across 5 probes, for several readings of the paper's
# "degenerate probe δ_z, z ~ N(0, I)", against the noise ceiling of the same probe with
# independent networks. Each geometry: marginal estimator, NETWORKS networks (default 8192).
# Usage: Benchmarks/probe-sensitivity.sh OUTDIR [NETWORKS]   (needs python3 + numpy)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$1"; networks="${2:-8192}"
sad="$root/.build/release/sad"
export OPENBLAS_NUM_THREADS=1
mkdir -p "$out"
# z_i ~ N(0, I) as the fixed probe draws them (sad's fixed:SEED), saved at scales 1, 0.1, 0.01.
python3 - "$out" <<'PY'
import sys, numpy as np
out = sys.argv[1]
for i in range(5):
    z = np.random.default_rng(1000 + i).standard_normal((1, 1, 16, 16)).astype(np.float32)
    for s in ["1", "0.1", "0.01"]:
        np.save(f"{out}/z{i}-s{s}.npy", (float(s) * z).astype(np.float32))
PY
geometry() {  # NAME PROBE SEED
  [ -f "$out/$1/vecs.npy" ] || "$sad" geometry --config "$root/configs/1x16x16-iddpm.json" --networks "$networks" \
      --estimator marginal --probe "$2" --seed "$3" --symmetry none --out "$out/$1" > "$out/$1.log" 2>&1
}
SECONDS=0
for i in 0 1 2 3 4; do
  geometry "fixed-$i" "fixed:$((1000 + i))" 0            # the current Fig. 11: x = z exactly
  geometry "q-$i-s1" "data:$out/z$i-s1.npy" 0             # δ_z as data: x_t = √ᾱ z + √(1−ᾱ) ε
  geometry "q-$i-s0.1" "data:$out/z$i-s0.1.npy" 0
  geometry "q-$i-s0.01" "data:$out/z$i-s0.01.npy" 0
  geometry "zero-$i" zero "$((10 + i))"                   # δ_0 with independent networks
done
geometry "fixed-0-b" "fixed:1000" 7                      # the same probe, independent networks
echo "geometries: ${SECONDS} s"
python3 - "$out" <<'PY'
import sys, numpy as np
out = sys.argv[1]
def vecs(name):
    v = np.load(f"{out}/{name}/vecs.npy").astype(np.float64)
    return v.reshape(v.shape[0], -1)
def similarity(a, b, h=1):
    c = a @ b.T
    d = a.shape[0]
    return np.array([(c[k, max(0, k - h):min(d, k + h + 1)] ** 2).sum() for k in range(d)])
def mean_pairs(names):
    vs = [vecs(n) for n in names]
    s = [similarity(vs[i], vs[j]) for i in range(len(vs)) for j in range(len(vs)) if i != j]
    s = np.mean(s, axis=0)
    return s[:10].mean(), s.mean()
rows = [("fixed z (current Fig. 11)", [f"fixed-{i}" for i in range(5)]),
        ("q-sample of z, scale 1", [f"q-{i}-s1" for i in range(5)]),
        ("q-sample of 0.1·z", [f"q-{i}-s0.1" for i in range(5)]),
        ("q-sample of 0.01·z", [f"q-{i}-s0.01" for i in range(5)]),
        ("zero probe, 5 network seeds", [f"zero-{i}" for i in range(5)]),
        ("fixed z0, 2 network seeds (noise ceiling)", ["fixed-0", "fixed-0-b"])]
print(f"{'probe set':45s} first-10 mean   all mean")
for label, names in rows:
    f, a = mean_pairs(names)
    print(f"{label:45s} {100 * f:7.1f} %   {100 * a:7.1f} %")
PY
