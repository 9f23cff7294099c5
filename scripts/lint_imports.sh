#!/usr/bin/env bash
# Check the layer contracts in .importlinter on a throwaway, non-editable copy of the package
# (the editable install maps the top-level folders into `autocrm.*` through an import hook that
# import-linter's static walk does not see).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${BIN:-.venv/bin}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" build' EXIT  # setuptools builds in ./build
"$BIN/pip" install --quiet --no-deps --no-build-isolation --target "$tmp/site" . 2>&1 \
    | grep -v -e "^WARNING: Location" -e "^$" || true
cp .importlinter "$tmp/"
cd "$tmp" && PYTHONPATH="$tmp/site" "$BIN/lint-imports" --no-cache
