#!/usr/bin/env bash
# Every GPU figure of bench/RESULTS.md in one go, on a machine with a GPU (the lent H100/H200:
# see ../shared/gpu/README.md for taking node along). Writes into ${OUT:-bench/results/device}.
#   [HOURS=3] [IOS="flac wav"] [CHAINS="gpu heavy io"] bash bench/gpu-device.sh [tests] [kernels] [errors] [e2e]
# (default: all four)
set -u
OUT=${OUT:-bench/results/device}
mkdir -p "$OUT"
what=${*:-tests kernels errors e2e}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/gpu.txt" 2>/dev/null || true
nproc > "$OUT/nproc.txt"
for w in $what; do
  case $w in
    tests)
      # The GPU kernel and engine tests on the hardware adapter.
      timeout 240 node node_modules/vitest/vitest.mjs run --project gpu > "$OUT/tests.log" 2>&1
      echo "tests rc=$?" | tee -a "$OUT/rc.txt" ;;
    kernels)
      timeout 200 node bench/gpu-kernels.mjs --only copy,elementwise,fftconv > "$OUT/gpu-kernels.jsonl" 2> "$OUT/gpu-kernels.err"
      echo "kernels rc=$?" | tee -a "$OUT/rc.txt" ;;
    errors)
      # Per-op relative L2 error of the GPU engine against the CPU ops.
      timeout 200 node bench/gpu-ops-error.mjs > "$OUT/gpu-ops-error.txt" 2>&1
      echo "errors rc=$?" | tee -a "$OUT/rc.txt" ;;
    e2e)
      # End to end, --device gpu vs cpu on the same recipe, per chain and input/output format;
      # GPU utilisation sampled by nvidia-smi every 100 ms alongside.
      for io in ${IOS:-flac wav}; do
        for chain in ${CHAINS:-gpu heavy io}; do
          nvidia-smi --query-gpu=timestamp,utilization.gpu --format=csv,noheader -lms 100 > "$OUT/util-$io-$chain.csv" 2>/dev/null &
          smi=$!
          timeout 300 node bench/gpu-e2e.mjs --hours "${HOURS:-3}" --runs 2 --chain $chain --input $io --audio $io \
            --keep "/tmp/augment-e2e-$io" --json "$OUT/e2e-$io-$chain.json" > "$OUT/e2e-$io-$chain.log" 2>&1
          echo "e2e $io $chain rc=$?" | tee -a "$OUT/rc.txt"
          kill $smi 2>/dev/null
        done
      done ;;
  esac
done
