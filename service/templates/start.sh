#!/bin/sh
# Run the service without Docker (see README.md). HOST, PORT, WORKERS and PYTHON may be set.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
export PYTHONPATH="$here/app${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python3}" -m textauto serve "$here/model" \
    --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" --workers "${WORKERS:-2}"
