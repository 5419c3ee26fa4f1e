#!/usr/bin/env bash
# The agent in one file for the boot OS: esbuild bundles src/agent/main.ts (and everything it
# imports) into a CommonJS file for Node 24. Used by `make build` (→ dist/agent/agent.cjs)
# and by the tests. Usage: bash src/bootos/bundle-agent.sh <out-file>
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$(realpath -m "${1:?usage: bundle-agent.sh <out-file>}")
cd "$REPO" # esbuild's comments name sources relative to the working directory: the same bytes from any checkout
node_modules/.bin/esbuild src/agent/main.ts --bundle --platform=node --target=node24 --format=cjs \
  --legal-comments=none --log-level=warning --outfile="$out"
