#!/usr/bin/env bash
# A benchmark-only environment holding BiaPy 3.7.1 (installed --no-deps) beside segpipe,
# with just the packages the measured BiaPy modules import. Never used by the project.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${BIAPY_VENV:-$here/.venv-biapy}"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet "${TORCH:-torch==2.13.0}"
"$venv/bin/pip" install --quiet -e "$here/..[test]"
"$venv/bin/pip" install --quiet --no-deps biapy==3.7.1
# BiaPy's UNETR builds timm's transformer blocks (timm's torchvision import is stood in for)
"$venv/bin/pip" install --quiet --no-deps timm
# imported by biapy.data.pre_processing / post_processing / utils.matching and their helpers
"$venv/bin/pip" install --quiet h5py zarr numba yacs opencv-python-headless fill-voids imageio scikit-learn tensorboardX nibabel pillow pooch edt
echo "$venv"
