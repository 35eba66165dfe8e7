#!/usr/bin/env bash
# Refresh requirements.lock: the exact versions (with sha256 hashes) that the README's Quick start installs.
#
# One version of each package for every Python 3.11+ and every platform: the lock is first resolved for
# Python 3.11 (the oldest supported), then resolved universally with those versions as preferences, so
# that a package whose newest release dropped 3.11 (numpy, scipy) is not pinned twice. The result holds
# the runtime dependencies and the `test` extra of pyproject.toml; tests/test_lock.py checks that every
# pin satisfies pyproject.toml's ranges.
#
# Needs uv (a dev tool, not needed to install from the lock): python3 -m pip install uv
set -euo pipefail
cd "$(dirname "$0")/.."
UV="${UV:-uv}"
command -v "$UV" >/dev/null || UV="python3 -m uv"
newest="$(mktemp)"
trap 'rm -f "$newest"' EXIT
$UV pip compile pyproject.toml --extra test --universal --python-version 3.11 \
    --no-header --no-annotate --quiet -o "$newest"
# keep the Python 3.11 pins, drop the newer-Python forks: these become the preferences of the next step
grep -v "python_full_version >= '3.12'" "$newest" | sed "s/ ; python_full_version < '3.12'//" > requirements.lock
$UV pip compile pyproject.toml --extra test --universal --python-version 3.11 --generate-hashes \
    --no-header --quiet -o requirements.lock
# a package pinned twice (one version per Python range) is an error; a single pin with a marker (a dependency
# only needed on some Pythons, e.g. lazy-importer < 3.15) is not
twice="$(grep -o '^[a-z0-9._-]*==' requirements.lock | sort | uniq -d)"
if [ -n "$twice" ]; then
  echo "lock.sh: pinned twice by Python version: $twice; see requirements.lock" >&2
  exit 1
fi
echo "requirements.lock: $(grep -c '^[a-z]' requirements.lock) packages"
