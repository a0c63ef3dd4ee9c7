#!/usr/bin/env bash
# Makes the Python environment of hf_datasets_test.py: the Hugging Face `datasets` library and PyAV,
# pinned, from PyPI (test-only: the programs never load Python). Reuses VENV when it already has them.
# Exits 0 either way: without PyPI the test skips, saying why.
set -uo pipefail
venv=$1
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import datasets, av" 2>/dev/null; then exit 0; fi
rm -rf "$venv"
python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check --only-binary :all: \
  "datasets==5.2.0" "av==18.1.1" || echo "hf_venv: could not install datasets and av from PyPI"
exit 0
