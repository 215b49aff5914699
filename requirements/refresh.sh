#!/usr/bin/env bash
# Regenerate requirements/lock.txt from pyproject.toml: the package's dependencies and its
# `test` and `torch` extras, pinned for Python 3.11 on linux x86_64 with sha256 hashes of
# every file PyPI holds for each pin; torch itself is left out (requirements/torch.txt,
# see requirements/README.md) but its dependencies are in.
#
#   pip install "uv>=0.5" && requirements/refresh.sh            # keep pins, add new ones
#   requirements/refresh.sh --upgrade                            # newest allowed releases
#
# torch==2.13.0 must resolve to the CPU build (PyPI's 2.13.0 is the CUDA build and would
# pull the nvidia-* packages into the lock): TORCH_CPU_LINKS is a folder or page listing
# the CPU wheels, default /opt/wheels where it exists, else download.pytorch.org's.
set -euo pipefail
cd "$(dirname "$0")/.."
default_links=https://download.pytorch.org/whl/cpu/torch/
[ -d /opt/wheels ] && default_links=/opt/wheels
uv pip compile pyproject.toml --quiet \
    --extra test --extra torch --no-emit-package torch \
    --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
    --generate-hashes --find-links "${TORCH_CPU_LINKS:-$default_links}" --no-emit-find-links \
    --custom-compile-command "requirements/refresh.sh" \
    --output-file requirements/lock.txt "$@"
if grep -q '^nvidia-' requirements/lock.txt; then
    echo "error: the lock holds nvidia-* packages: torch resolved to the CUDA build" >&2
    exit 1
fi
