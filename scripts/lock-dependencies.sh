#!/usr/bin/env bash
# Regenerates the two hashed lock files from pyproject.toml with pip-tools (installed in a throw-away
# venv outside the repo, never in .venv):
#   requirements.lock      the runtime dependencies only: what the Docker image installs
#   requirements-dev.lock  runtime + the `dev` extra (pytest, playwright, moto, hypothesis,
#                          schemathesis...), constrained to requirements.lock: what `make install` installs
# Both are installed with `pip install --require-hashes`. pip-compile keeps the pins already in a lock;
# pass --upgrade or --upgrade-package NAME (forwarded to both runs) to move them, and keep pyproject.toml's
# `==` pins in step.
set -euo pipefail
cd "$(dirname "$0")/.."

PIP_TOOLS_VERSION=7.6.2
TOOLS=${PIP_TOOLS_VENV:-${TMPDIR:-/tmp}/ai-governance-portal-pip-tools}
if ! "$TOOLS/bin/pip-compile" --version 2>/dev/null | grep -q "version $PIP_TOOLS_VERSION"; then
    python3.11 -m venv "$TOOLS"
    "$TOOLS/bin/pip" install --quiet --disable-pip-version-check "pip==25.3" "pip-tools==$PIP_TOOLS_VERSION"
fi

export CUSTOM_COMPILE_COMMAND="scripts/lock-dependencies.sh"
# No index or find-links lines: the locks must not name a machine's own package mirrors.
common=(--quiet --resolver=backtracking --generate-hashes --allow-unsafe --strip-extras
        --no-emit-index-url --no-emit-find-links --no-emit-trusted-host)
"$TOOLS/bin/pip-compile" "${common[@]}" "$@" --output-file requirements.lock pyproject.toml
"$TOOLS/bin/pip-compile" "${common[@]}" "$@" --extra dev --constraint requirements.lock \
    --output-file requirements-dev.lock pyproject.toml
