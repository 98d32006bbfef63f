#!/usr/bin/env bash
# The GPU checks of the network and augmentation issues, in one run on a CUDA machine that has
# torch but no network (figures in benchmarks/RESULTS.md):
#   1. every architecture's training step, segpipe against the bare module (fp32, bf16);
#   2. the augmentations' share of a training step on the GPU (2D and 3D demos), and warping
#      labels as float64 ids against the former torch.unique ranks;
#   3. every architecture's prediction, and channel-last weights / bf16 at inference;
#   4. the 2D demo pipeline (`segpipe run`, Snakemake) trained and predicted on the GPU;
#   5. the training, batch-worker and augmentation tests with CUDA visible (workers forked
#      after CUDA started in the training process);
#   6. (PARTS=accuracy, alone: about 10 minutes) each architecture's demo F1@0.5 after the same
#      training time on the GPU.
#
#   [PARTS="augment tests"] [ARCHITECTURES=unet,resunet] benchmarks/gpu_checks.sh OUT_DIR
#
# The packages that machine lacks travel as wheels in .gpu/whl (Python 3.12: `pip download
# --no-deps --only-binary=:all: --python-version 3.12 ...` of snakemake, zarr, jsonschema and
# their needs), the stardist sample images in .gpu/stardist/data/images (read as the package's
# files, which is all segpipe's demo needs of it). Each part has its own time limit, so that
# one slow part still leaves the others' figures.
set -u
out=${1:?usage: gpu_checks.sh OUT_DIR}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
python=${PYTHON:-python3}
errors="$out/errors.log"

if [ -d .gpu/whl ]; then
    $python -m pip install -q --no-index --no-deps --no-compile .gpu/whl/*.whl >>"$errors" 2>&1
    $python -m pip install -q --no-index --no-deps --no-build-isolation -e . >>"$errors" 2>&1
    site=$($python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    if ! $python -c 'import snakemake, zarr, jsonschema, stages' 2>>"$errors"; then
        # a read-only environment: everything into a folder of our own instead
        site=/tmp/site
        $python -m pip install -q --no-index --no-deps --no-compile --target $site \
            .gpu/whl/*.whl >>"$errors" 2>&1
        mkdir -p $site/bin
        printf '#!%s\nfrom stages.cli import main\nmain()\n' "$(command -v $python)" >$site/bin/segpipe
        chmod +x $site/bin/segpipe
        export PYTHONPATH=$site:$PWD PATH=$site/bin:$PATH
    fi
    cp -r .gpu/stardist "$site/"
fi
{
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    $python -c 'import sys, torch; print("Python", sys.version.split()[0], "torch", torch.__version__, torch.cuda.get_device_name())'
    echo "$(nproc) cores"
} >"$out/machine.txt" 2>>"$errors"

part() {  # part SECONDS FILE COMMAND...: one check, its output in FILE, its time at the end
    local seconds=$1 file=$2
    shift 2
    local started=$SECONDS
    echo "== $file: $*" >>"$errors"
    if [[ $file == *.log ]]; then  # a log: both streams, in order
        timeout "$seconds" "$@" >"$out/$file" 2>&1
    else  # a table: warnings apart
        timeout "$seconds" "$@" >"$out/$file" 2>>"$errors"
    fi
    echo "(exit $?, $((SECONDS - started)) s)" >>"$out/$file"
}

only=${ARCHITECTURES:+--architectures $ARCHITECTURES}  # all of them unless named
parts=" ${PARTS:-training augment inference demo tests} "  # or some of them, in this order
if [[ $parts == *" training "* ]]; then
    part 130 training.md $python benchmarks/bench_architectures.py gpu-training $only
fi
if [[ $parts == *" augment "* ]]; then
    part 20 label_warp.md $python benchmarks/bench_label_warp.py --device cuda
    part 200 augment.md $python benchmarks/bench_augment.py --steps 20 --device cuda --variants
fi
if [[ $parts == *" inference "* ]]; then
    part 90 inference.md $python benchmarks/bench_architectures.py gpu-inference $only
fi
if [[ $parts == *" demo "* ]]; then
    rm -rf results data
    part 150 demo.log segpipe run config/config.yaml --cores "$(nproc)"
    find results -name '*.csv' -o -name '*.tsv' -o -name '*.log' |
        tar czf "$out/demo_results.tgz" -T - 2>>"$errors"
fi
if [[ $parts == *" accuracy "* ]]; then  # not in the default: about 10 minutes alone
    part 540 accuracy.md $python benchmarks/bench_architectures.py accuracy --budget 20 \
        --cores "$(nproc)" $only
fi
if [[ $parts == *" tests "* ]]; then
    part 90 tests.log $python -m pytest -q -p no:cacheprovider -x tests/nn/test_train.py \
        tests/nn/test_prefetch.py tests/nn/test_batch_workers.py tests/nn/augment
fi
