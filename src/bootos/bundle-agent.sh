#!/usr/bin/env bash
# The agent for the boot OS: esbuild bundles src/agent/main.ts (and everything it imports)
# into one CommonJS file for Node 24, and the image engine's worker thread
# (src/imaging/chunk-worker.ts) into chunk-worker.cjs beside it, where siblingModule
# (imaging/worker-pool.ts) looks for it. In both, import.meta.url is the bundle file's own
# URL (a banner sets it from __filename), so code that finds files relative to its module
# works from the bundle: the LZ4 codec is ../native/lz4.node from the bundle's directory,
# i.e. the bundle keeps dist/'s layout (dist/agent/*.cjs, dist/native/lz4.node).
# Used by `make build` (→ dist/agent/agent.cjs) and by the tests.
# Usage: bash src/bootos/bundle-agent.sh <out-dir>/agent.cjs   (writes <out-dir>/chunk-worker.cjs too)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$(realpath -m "${1:?usage: bundle-agent.sh <out-file.cjs>}")
case "$out" in *.cjs) ;; *) echo "bundle-agent.sh: $out must end in .cjs (the bundle is CommonJS)" >&2; exit 2 ;; esac
name=$(basename "$out" .cjs)
[ "$name" != chunk-worker ] || { echo "bundle-agent.sh: chunk-worker.cjs is the worker's name; choose another for the agent" >&2; exit 2; }
cd "$REPO" # esbuild's comments name sources relative to the working directory: the same bytes from any checkout
node_modules/.bin/esbuild "$name=src/agent/main.ts" chunk-worker=src/imaging/chunk-worker.ts \
  --bundle --platform=node --target=node24 --format=cjs --out-extension:.js=.cjs \
  --banner:js='"use strict"; var __lifeboat_module_url = require("node:url").pathToFileURL(__filename).href;' \
  --define:import.meta.url=__lifeboat_module_url \
  --legal-comments=none --log-level=warning --outdir="$(dirname "$out")"
