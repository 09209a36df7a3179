#!/usr/bin/env bash
# How much training a rank-one Fig. 6 model needs before it beats the trivial samplers (issue 15,
# item 6). Trains the 1x16x16 U-Net (nearest) on N(0, D v vᵀ) along SAD 0 and SAD 255 of a
# geometry file, resuming the same run to each step count, and after each count samples 1000 images
# (50 strided steps) and measures SW₂ / MSW₂ against 1000 fresh reference samples with 64·D
# projections. The all-zero sampler and the exact rank-one law with a fitted scale are measured on
# the same reference set with the same projections.
# Usage: Benchmarks/training-budget.sh VECS.npy OUTDIR [STEPS...]   (needs python3 + numpy)
# Environment: CONFIG (default configs/1x16x16-iddpm.json; e.g. a copy with another learning_rate),
# INDICES (default "255 0").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vecs="$1"; out="$2"; shift 2
steps=("${@:-300 1000 2000 4000}"); steps=(${steps[@]})
sad="$root/.build/release/sad"
config="${CONFIG:-$root/configs/1x16x16-iddpm.json}"
mkdir -p "$out"
for index in ${INDICES:-255 0}; do
  dir="$out/sad$index"; mkdir -p "$dir"
  data="rank-one:sad:$vecs:$index"
  "$sad" dataset --data "$data" --count 1000 --seed 0 --stream 1 --out "$dir/reference.npy" > /dev/null
  "$sad" dataset --data "$data" --count 2048 --seed 0 --stream 0 --out "$dir/train.npy" > /dev/null
  python3 - "$dir" <<'PY'
import sys, numpy as np
d = sys.argv[1]
train = np.load(f"{d}/train.npy").reshape(2048, -1).astype(np.float64)
ref = np.load(f"{d}/reference.npy")
np.save(f"{d}/zeros.npy", np.zeros_like(ref))
# The exact law N(0, s² v vᵀ) with v and s fitted on the training set (its top principal axis).
u, s, vt = np.linalg.svd(train, full_matrices=False)
scale = s[0] / np.sqrt(train.shape[0])
z = np.random.default_rng(7).standard_normal(ref.shape[0])
np.save(f"{d}/law.npy", (scale * z[:, None] * vt[0][None, :]).reshape(ref.shape).astype(np.float32))
PY
  for b in zeros law; do
    "$sad" evaluate --samples "$dir/$b.npy" --reference "$dir/reference.npy" --seed 0 --out "$dir/$b.json" > /dev/null
    echo "sad $index baseline $b: $(tr -d '\n ' < "$dir/$b.json")"
  done
  for n in "${steps[@]}"; do
    SECONDS=0
    "$sad" train --config "$config" --data "$data" --num-samples 2048 --batch-size 128 --seed 0 \
        --steps "$n" --checkpoint-every 250 --out "$dir/run" > "$dir/train-$n.log"
    t=$SECONDS; SECONDS=0
    "$sad" sample --config "$config" --checkpoint "$dir/run/model.safetensors" --count 1000 --steps 50 \
        --batch-size 500 --seed 0 --out "$dir/samples-$n.npy" > /dev/null
    "$sad" evaluate --samples "$dir/samples-$n.npy" --reference "$dir/reference.npy" --seed 0 \
        --out "$dir/eval-$n.json" > /dev/null
    radius=$(python3 -c "import numpy as np; x=np.load('$dir/samples-$n.npy').reshape(1000,-1); \
print(f'{np.sqrt((x**2).sum(1)).mean()/16:.3f}')")
    echo "sad $index steps $n: train ${t} s (cumulative run), sample+eval ${SECONDS} s," \
      "mean radius/sqrt(D) $radius: $(tr -d '\n ' < "$dir/eval-$n.json")"
  done
done
