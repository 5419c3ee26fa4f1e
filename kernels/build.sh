#!/usr/bin/env bash
# make kernels: the boot OS's kernel set, from Debian's signed kernel package.
#
#   bash kernels/build.sh            → var/kernels/<version>/ and var/kernels/current → <version>
#
# 1. `apt-get download` the versioned package linux-image-amd64 depends on (signed with
#    Debian's Secure Boot key) into var/kernels/dl/, and `dpkg -x` it into a scratch tree —
#    nothing is installed on this machine.
# 2. modules.dep for the whole package (busybox depmod: the package ships none), then the
#    modules named in kernels/modules.list with every dependency modules.dep gives.
# 3. var/kernels/<version>/: vmlinuz and those modules, byte for byte as Debian signed them,
#    modules.dep/modules.alias made again for exactly that set (sorted, so reproducible),
#    modules.builtin, and manifest.json: the kernel version, the package and its SHA-256,
#    and the SHA-256 and size of every file taken.
# Cached: a second run with the same package version and the same kernels/modules.list does
# nothing (the list's SHA-256 is in manifest.json; a changed list builds the set again).
#
# Environment: KERNEL_PACKAGE overrides the package (default: what linux-image-amd64 depends on).
set -Eeuo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$REPO/var/kernels
LIST=$REPO/kernels/modules.list
fail() { printf 'kernels/build.sh: %s\n' "$*" >&2; exit 1; }
trap 'printf "kernels/build.sh: command exited %s at line %s: %s\n" "$?" "$LINENO" "$BASH_COMMAND" >&2' ERR

command -v busybox >/dev/null || fail "busybox is not installed (make apt installs busybox-static)"
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock -w 600 9 || fail "another kernels/build.sh holds $OUT/.lock"

pkg=${KERNEL_PACKAGE:-$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')}
[ -n "$pkg" ] || fail "cannot tell which kernel package linux-image-amd64 depends on: run apt-get update"
case "$pkg" in linux-image-[0-9]*-amd64) ;; *) fail "unexpected kernel package name '$pkg'" ;; esac
version=${pkg#linux-image-}
dest=$OUT/$version
listSha=$(grep -v '^[[:space:]]*#' "$LIST" | sha256sum | cut -d' ' -f1)
if [ -f "$dest/manifest.json" ] && grep -q "\"modulesListSha256\": \"$listSha\"" "$dest/manifest.json"; then
  ln -sfn "$version" "$OUT/current"
  echo "kernels: cached $dest"
  exit 0
fi

mkdir -p "$OUT/dl"
deb=$(ls "$OUT/dl/${pkg}_"*.deb 2>/dev/null | head -n 1 || true)
if [ -z "$deb" ]; then
  (cd "$OUT/dl" && apt-get download "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  deb=$(ls "$OUT/dl/${pkg}_"*.deb 2>/dev/null | head -n 1 || true)
  [ -n "$deb" ] || fail "apt-get download $pkg left no .deb in $OUT/dl (apt-get update? is the Debian mirror reachable?)"
fi
scratch=$(mktemp -d "$OUT/.x-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
dpkg -x "$deb" "$scratch/pkg"
src=$scratch/pkg/lib/modules/$version
[ -d "$src/kernel" ] || fail "$deb holds no lib/modules/$version/kernel"
[ -f "$scratch/pkg/boot/vmlinuz-$version" ] || fail "$deb holds no boot/vmlinuz-$version"
busybox depmod -b "$scratch/pkg" "$version"

# Module name → path, and the closure of the list under modules.dep.
awk -v list="$LIST" -v builtin="$src/modules.builtin" '
  function norm(s) { gsub(/-/, "_", s); return s }
  function base(p,  n) { n = p; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n); return norm(n) }
  BEGIN {
    while ((getline line < builtin) > 0) inkernel[base(line)] = 1
    while ((getline line < list) > 0) { sub(/#.*/, "", line); gsub(/[ \t]/, "", line); if (line != "") want[norm(line)] = 1 }
  }
  { key = $1; sub(/:$/, "", key); path[base(key)] = key; deps[key] = ""; for (i = 2; i <= NF; i++) deps[key] = deps[key] " " $i }
  END {
    for (m in want) {
      if (m in path) { todo[++n] = path[m] } else if (!(m in inkernel)) { print "kernels/modules.list names " m ", which this kernel does not have" > "/dev/stderr"; bad = 1 }
    }
    while (n > 0) {
      p = todo[n--]; if (p in take) continue; take[p] = 1
      c = split(deps[p], d, " "); for (i = 1; i <= c; i++) if (!(d[i] in take)) todo[++n] = d[i]
    }
    for (p in take) print p
    exit bad
  }' "$src/modules.dep" | LC_ALL=C sort >"$scratch/take" || fail "kernels/modules.list does not match kernel $version (see above)"

stage=$scratch/set
mkdir -p "$stage/lib/modules/$version"
cp "$scratch/pkg/boot/vmlinuz-$version" "$stage/vmlinuz"
while read -r p; do
  mkdir -p "$stage/lib/modules/$version/$(dirname "$p")"
  cp "$src/$p" "$stage/lib/modules/$version/$p"
done <"$scratch/take"
cp "$src/modules.builtin" "$src/modules.order" "$stage/lib/modules/$version/"
busybox depmod -b "$stage" "$version"
for f in modules.dep modules.alias modules.symbols; do
  LC_ALL=C sort -o "$stage/lib/modules/$version/$f" "$stage/lib/modules/$version/$f"
done

# Every module dependency present (the check the tests repeat on the built set).
while IFS=: read -r mod deps; do
  for d in $deps; do [ -f "$stage/lib/modules/$version/$d" ] || fail "$mod needs $d, which is not in the set"; done
done <"$stage/lib/modules/$version/modules.dep"

(cd "$stage" && find . -type f ! -name manifest.json | LC_ALL=C sort | sed 's|^\./||' | while read -r f; do
  printf '%s %s %s\n' "$(sha256sum "$f" | cut -d' ' -f1)" "$(stat -c %s "$f")" "$f"
done) >"$scratch/sums"
node -e '
  const [version, pkg, debFile, debSha, sums, , listSha] = process.argv.slice(1);
  const files = require("fs").readFileSync(sums, "utf8").trim().split("\n").map((l) => {
    const [sha256, size, path] = l.split(" ");
    return { path, size: Number(size), sha256 };
  });
  const m = { format: "lifeboat-kernel-set", version: 1, kernelVersion: version, package: pkg,
    packageFile: require("path").basename(debFile), packageSha256: debSha, modulesListSha256: listSha,
    modules: files.filter((f) => f.path.endsWith(".ko")).length, files };
  require("fs").writeFileSync(process.argv[6], JSON.stringify(m, null, 2) + "\n");
' "$version" "$pkg" "$deb" "$(sha256sum "$deb" | cut -d' ' -f1)" "$scratch/sums" "$stage/manifest.json" "$listSha"

rm -rf "$dest"
mv "$stage" "$dest"
ln -sfn "$version" "$OUT/current"
echo "kernels: $dest ($(grep -c '\.ko$' "$scratch/take") modules, $(du -sh "$dest" | cut -f1))"
