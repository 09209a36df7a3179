#!/usr/bin/env bash
# Our training/sampling steps and PyTorch's, side by side in one session on this machine:
# the PyTorch rebuild is first checked against every golden fixture, then the two engines run
# alternately ROUNDS times (default 2), each timing medians of REPS repetitions (default 5);
# ours both with its default micro-batches and with every op over the whole batch.
# Optional (needs `pip install torch`); never run in CI.
# Usage: Benchmarks/pytorch/side-by-side.sh [OUT] [ROUNDS] [REPS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$root/runs/side-by-side}"
rounds="${2:-2}"
reps="${3:-5}"
sad="${SAD:-$root/scripts/sad}"
threads="${SAD_THREADS:-2}"
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=1
{
    echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; threads $threads"
    python3 -c "import torch, platform; print('PyTorch', torch.__version__, 'Python', platform.python_version())"
    python3 "$root/Benchmarks/pytorch/baseline.py" check "$root/Tests/Fixtures"
} | tee "$out/setup.txt"
for r in $(seq 1 "$rounds"); do
    "$sad" bench --threads "$threads" --repetitions "$reps" --networks 100 --no-geometry --eigen-sizes 8 \
        --conv-batch 8 --config-directory "$root/configs" | grep -E "^(train|sampling)" \
        | tee "$out/sad-$r.txt"
    # The same steps with every op over the whole batch (no micro-batches), as PyTorch runs them.
    "$sad" bench --threads "$threads" --repetitions "$reps" --networks 100 --no-geometry --eigen-sizes 8 \
        --conv-batch 8 --config-directory "$root/configs" --micro-batch 0 | grep -E "^(train|sampling)" \
        | sed 's/^/whole batch: /' | tee "$out/sad-whole-$r.txt"
    python3 "$root/Benchmarks/pytorch/baseline.py" time --threads "$threads" --repetitions "$reps" \
        --configs "$root/configs" | tee "$out/pytorch-$r.txt"
done
