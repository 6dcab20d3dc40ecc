#!/usr/bin/env bash
# Create .venv in the repository and install the pinned OpenMMLab 2.x stack plus unseg_mm (editable).
#
# Why each step is the way it is (all measured on a 2-core CPU machine with Python 3.11):
#  * torch 2.13 is the newest torch that mmcv 2.1.0 (the newest mmcv accepted by mmseg 1.2.2 and
#    mmdet 3.3.0) compiles against: torch >= 2.14 headers need C++20 and mmcv hard-codes -std=c++17.
#  * torch/torchvision come from the package registry's own build (`pip --isolated`, ~5.5 GB with its
#    CUDA libraries, runs fine on CPU). A local CPU-only torch wheel configured as a pip find-link on
#    some machines makes the registry's torchvision 0.28.0 fail to import (`torchvision::nms does
#    not exist`), and segment_anything imports torchvision at package import.
#  * mmcv 2.1.0 has no wheel for torch 2.13, so its ops are compiled from source (~6 min on 2 cores)
#    with --no-build-isolation (an isolated build has no torch and silently skips the ops) and
#    setuptools < 81 (its setup.py imports pkg_resources). The wheel is kept in a wheelhouse outside
#    the repository, keyed by the torch version, so re-runs and fresh clones on the same machine
#    install it in seconds.
#  * Every pip call is --isolated so user/site pip configuration (extra find-links, indexes) cannot
#    swap in a different torch build behind our back.
#
# Environment overrides: PYTHON (interpreter for the venv), VENV (default .venv),
# UNSEG_WHEELHOUSE (default ~/.cache/unseg_mm/wheelhouse), MAX_JOBS (parallel compile jobs).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

PYTHON="${PYTHON:-python3.11}"
VENV="${VENV:-.venv}"
TORCH_VERSION=2.13.0
TORCHVISION_VERSION=0.28.0
MMCV_VERSION=2.1.0
WHEELHOUSE="${UNSEG_WHEELHOUSE:-$HOME/.cache/unseg_mm/wheelhouse}/torch-${TORCH_VERSION}"
CONSTRAINTS="$REPO_ROOT/requirements/constraints.txt"

log() { printf '[setup_env %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
start=$(date +%s)

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "error: $PYTHON not found; set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
PY="$REPO_ROOT/$VENV/bin/python"
# The venv's bin first on PATH: torch's extension builder only compiles in parallel when it finds
# the `ninja` executable installed below.
export PATH="$REPO_ROOT/$VENV/bin:$PATH"
PIP=("$PY" -m pip --isolated --disable-pip-version-check)

if "$PY" - "$TORCH_VERSION" "$TORCHVISION_VERSION" <<'EOF' 2>/dev/null
import sys
import torch, torchvision
ok = torch.__version__.split('+')[0] == sys.argv[1] and torchvision.__version__.split('+')[0] == sys.argv[2]
torchvision.ops.nms  # fails on a torchvision built against another torch
sys.exit(0 if ok else 1)
EOF
then
    log "torch $TORCH_VERSION / torchvision $TORCHVISION_VERSION already installed"
else
    # The registry's torch with its CUDA libraries takes ~5.5 GB in the venv (5.4 GB measured),
    # and pip holds its ~3 GB of downloaded wheels while it installs: fail before pip does.
    need_gb="${UNSEG_MIN_FREE_GB:-7}"
    free_kb=$(df -Pk "$VENV" | awk 'NR==2 {print $4}')
    if [ -n "$free_kb" ] && [ "$free_kb" -lt $((need_gb * 1024 * 1024)) ]; then
        echo "error: only $((free_kb / 1024)) MiB free on the disk of $REPO_ROOT/$VENV;" \
             "installing torch $TORCH_VERSION needs about ${need_gb} GiB (the venv, plus the ~3 GB of" \
             "wheels pip downloads). Free some space (old work_dirs," \
             "\`pip cache purge\`) and rerun;" \
             "UNSEG_MIN_FREE_GB=<n> changes the threshold." >&2
        exit 1
    fi
    log "installing torch $TORCH_VERSION and torchvision $TORCHVISION_VERSION from the registry"
    "${PIP[@]}" install -c "$CONSTRAINTS" "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
fi

log "installing build tools (setuptools < 81 keeps pkg_resources for mmcv and mmengine)"
"${PIP[@]}" install -c "$CONSTRAINTS" "setuptools>=77,<81" wheel ninja numpy

mkdir -p "$WHEELHOUSE"
if ls "$WHEELHOUSE"/mmcv-"$MMCV_VERSION"-*.whl >/dev/null 2>&1; then
    log "reusing mmcv $MMCV_VERSION wheel from $WHEELHOUSE"
else
    log "compiling mmcv $MMCV_VERSION with its ops against torch $TORCH_VERSION (takes ~6 min on 2 cores)"
    tmp_wh="$(mktemp -d)"
    MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        "${PIP[@]}" wheel --no-build-isolation --no-deps --no-binary mmcv \
        -w "$tmp_wh" "mmcv==$MMCV_VERSION"
    built=("$tmp_wh"/mmcv-"$MMCV_VERSION"-*.whl)
    if [ ! -f "${built[0]}" ]; then
        echo "error: building mmcv $MMCV_VERSION produced no wheel in $tmp_wh" >&2
        exit 1
    fi
    # Copy under a temporary name and rename, so an interrupted run never leaves a partial wheel.
    cp "${built[0]}" "$WHEELHOUSE/.partial.whl"
    mv "$WHEELHOUSE/.partial.whl" "$WHEELHOUSE/$(basename "${built[0]}")"
    rm -rf "$tmp_wh"
fi

log "installing the OpenMMLab stack and unseg_mm (editable)"
"${PIP[@]}" install -c "$CONSTRAINTS" --find-links "$WHEELHOUSE" -e ".[tests]"

log "checking the installation"
"$PY" - <<'EOF'
import importlib
mods = ['torch', 'torchvision', 'mmengine', 'mmcv', 'mmcv.ops', 'mmseg', 'mmdet',
        'segment_anything', 'pycocotools', 'cityscapesscripts', 'unseg_mm']
for m in mods:
    importlib.import_module(m)
from mmcv.ops import MultiScaleDeformableAttention  # needs the compiled _ext
import torch, mmcv, mmseg, mmdet, mmengine
print(f'torch {torch.__version__}, mmengine {mmengine.__version__}, mmcv {mmcv.__version__} (ops ok), '
      f'mmseg {mmseg.__version__}, mmdet {mmdet.__version__}')
EOF
log "done in $(( $(date +%s) - start )) s"
