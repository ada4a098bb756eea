#!/usr/bin/env bash
# The checks and figures of issue 14 that need a CUDA GPU, in one call of a few minutes:
#   1. the GPU tests (CUDA-graph capture, float32 parity of graphed and eager trackers);
#   2. benchmarks/gpu_parity.py: CPU vs GPU `siambench run` results (one-pass, VOT, GOT-10k;
#      --batch 1 and 8; warp and tensor crops) to 1e-3 px;
#   3. benchmarks/tracker_speed.py --device cuda: batch-1 frame times plain and from a CUDA graph,
#      network frames/s by batch size up to 256 (paper-size networks);
#   4. benchmarks/run_throughput.py --device cuda --paper: whole-run frames/s at --batch 1 … 128,
#      host crops and tensor crops.
# Run from the repository root with a python that has torch with CUDA (the source tree is used
# as it is: PYTHONPATH=.). Logs go to $1, else $OUT, else /tmp/siambench-gpu-check.
set -u -o pipefail
out=${1:-${OUT:-/tmp/siambench-gpu-check}}
mkdir -p "$out"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 SIAMBENCH_CACHE=${SIAMBENCH_CACHE:-/tmp/siambench-cache}
python=${PYTHON:-python3}
status=0
step() {  # step NAME COMMAND...: run, log to $out/NAME.txt, remember a failure, go on
    local name=$1
    shift
    echo "== $name: $*"
    local start=$SECONDS
    "$@" 2>&1 | tee "$out/$name.txt" || status=1
    echo "== $name: $((SECONDS - start)) s"
}
"$python" -c "import torch, sys; print(torch.__version__, torch.cuda.is_available() and torch.cuda.get_device_name()); sys.exit(0 if torch.cuda.is_available() else 1)" \
    || { echo "no CUDA device: nothing to check"; exit 1; }
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv 2>/dev/null | tee "$out/gpu.txt"
step tests "$python" -m pytest -q -p no:cacheprovider tests/test_gpu_forward.py tests/test_tensor_crops.py
step parity "$python" benchmarks/gpu_parity.py --sequences 6 --frames 60
step speed "$python" benchmarks/tracker_speed.py --device cuda --no-cpu --frames 60 \
    --batches 1,8,32,64,128,256
step run "$python" benchmarks/run_throughput.py --device cuda --paper --sequences 64 \
    --batches 8,32 --workers 1
step run_tensor_crops "$python" benchmarks/run_throughput.py --device cuda --paper --sequences 64 \
    --batches 8,32 --workers 1 --trackers siamrpn --crop tensor
exit $status
