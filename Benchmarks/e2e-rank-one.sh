#!/usr/bin/env bash
# End-to-end check (issue 5): a 200-step rank-one run on the 1x16x16 U-Net (batch 256) trains,
# samples and evaluates; the same run stopped after 100 steps and resumed ends with a bitwise
# identical checkpoint and identical metrics. Usage: Benchmarks/e2e-rank-one.sh [OUTDIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/runs/e2e-rank-one}"
sad="$root/.build/release/sad"
rm -rf "$out"; mkdir -p "$out"
config="$root/configs/1x16x16-iddpm.json"
common=(--config "$config" --data rank-one:dct:3:5 --num-samples 2560 --batch-size 256 --seed 1)
SECONDS=0
"$sad" train "${common[@]}" --steps 200 --checkpoint-every 50 --out "$out/straight" | tail -1
echo "straight run: ${SECONDS} s"
"$sad" train "${common[@]}" --steps 100 --checkpoint-every 50 --out "$out/resumed" | tail -1   # stopped at step 100
"$sad" train "${common[@]}" --steps 200 --checkpoint-every 50 --out "$out/resumed" | tail -1   # resumes at 100
cmp "$out/straight/checkpoint.safetensors" "$out/resumed/checkpoint.safetensors" && echo "checkpoints bitwise identical"
"$sad" dataset --data rank-one:dct:3:5 --count 2560 --seed 1 --stream 1 --out "$out/reference.npy"
for run in straight resumed; do
  "$sad" sample --config "$config" --checkpoint "$out/$run/model.safetensors" --count 2560 --steps 100 \
      --batch-size 512 --seed 2 --out "$out/$run/samples.npy" | tail -1
  "$sad" evaluate --samples "$out/$run/samples.npy" --reference "$out/reference.npy" --seed 3 --out "$out/$run/result.json"
done
cmp "$out/straight/result.json" "$out/resumed/result.json" && echo "metrics identical"
