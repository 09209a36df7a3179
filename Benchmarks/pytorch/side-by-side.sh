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
# PyTorch's CPU allocator takes every tensor from glibc malloc, which maps each allocation
# above its mmap threshold afresh and unmaps it when freed: a U-Net 1x16x16 evaluation at
# batch 1000 then takes ~210,000 page faults, a third or more of its time on this machine.
# Keeping freed memory in the heap (PyTorch's own tuning advice is jemalloc or tcmalloc, to
# the same end) is the stronger baseline, so both engines run with it unless
# SIDE_BY_SIDE_MALLOC=default asks for glibc as shipped. (Ours reuses its micro-batch
# buffers either way: at most ~1,200 faults per evaluation.)
case "${SIDE_BY_SIDE_MALLOC:-tuned}" in
    tuned) export MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=1073741824 ;;
    default) ;;
    *) echo "SIDE_BY_SIDE_MALLOC: expected 'tuned' or 'default', found '$SIDE_BY_SIDE_MALLOC'" >&2; exit 2 ;;
esac
{
    echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; threads $threads"
    echo "glibc malloc: ${SIDE_BY_SIDE_MALLOC:-tuned} (MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-unset})"
    python3 -c "import torch, platform; print('PyTorch', torch.__version__, 'Python', platform.python_version())"
    python3 "$root/Benchmarks/pytorch/baseline.py" check "$root/Tests/Fixtures"
} | tee "$out/setup.txt"
for r in $(seq 1 "$rounds"); do
    # The machine's state this round (sgemm peak, memory bandwidth, one convolution, one
    # memory-bound op), then our steps.
    "$sad" bench --threads "$threads" --repetitions "$reps" --networks 100 --no-geometry --eigen-sizes 8 \
        --conv-batch 1000 --config-directory "$root/configs" \
        | grep -E "^(sgemm|memory|conv2d|SiLU|train|sampling)" | tee "$out/sad-$r.txt"
    # The same steps with every op over the whole batch (no micro-batches), as PyTorch runs them.
    "$sad" bench --threads "$threads" --repetitions "$reps" --networks 100 --no-geometry --eigen-sizes 8 \
        --conv-batch 8 --config-directory "$root/configs" --micro-batch 0 | grep -E "^(train|sampling)" \
        | sed 's/^/whole batch: /' | tee "$out/sad-whole-$r.txt"
    python3 "$root/Benchmarks/pytorch/baseline.py" time --threads "$threads" --repetitions "$reps" \
        --configs "$root/configs" | tee "$out/pytorch-$r.txt"
done
