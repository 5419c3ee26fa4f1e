#!/usr/bin/env bash
# make bench: Lifeboat's image engine against the anchor tools, in one run, same machine,
# warm page cache for everyone. A ~3 GiB ext4 image filled by mkfs.ext4 -d from system
# files (~1.3 GB used). Prints times, stored bytes, peak RSS and the ratios the issues set.
set -euo pipefail
cd "$(dirname "$0")/../.."
LIFEBOAT="node dist/cli/main.js"
WORK="${BENCH_DIR:-/var/tmp/lifeboat-bench}"
SIZE="${BENCH_SIZE:-3G}"
rm -rf "$WORK"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT

echo "== building the sample: $SIZE ext4 from /usr/share and /usr/lib/x86_64-linux-gnu"
mkdir -p "$WORK/tree"
# hard links: the tree costs no copying; mkfs reads the files through them
cp -al /usr/share "$WORK/tree/share" 2>/dev/null || cp -a /usr/share "$WORK/tree/share"
cp -al /usr/lib/x86_64-linux-gnu "$WORK/tree/lib" 2>/dev/null || cp -a /usr/lib/x86_64-linux-gnu "$WORK/tree/lib"
truncate -s "$SIZE" "$WORK/disk.img"
mkfs.ext4 -q -F -L bench -d "$WORK/tree" "$WORK/disk.img"
rm -rf "$WORK/tree"
used=$(dumpe2fs -h "$WORK/disk.img" 2>/dev/null | awk -F: '/^Block count/{bc=$2}/^Free blocks/{fb=$2}/^Block size/{bs=$2}END{printf "%d", (bc-fb)*bs}')
echo "disk $(stat -c %s "$WORK/disk.img") bytes, ext4 used $used bytes"
cat "$WORK/disk.img" >/dev/null   # warm cache for every contestant

# Bytes of chunk files (what the store holds of the data; `du -sb` would also count each
# chunks/<prefix>/ directory's own 4 KiB, reported apart as directory overhead).
chunk_bytes() { find "$1/chunks" -type f -printf '%s\n' | awk '{s += $1} END {printf "%d", s}'; }
dir_bytes() { find "$1/chunks" -type d -printf '%s\n' | awk '{s += $1} END {printf "%d", s}'; }

# run NAME CMD...: times a shell command, records seconds and peak RSS (KiB)
declare -A SECS RSS
run() {
  local name=$1; shift
  sync
  /usr/bin/time -f '%e %M' -o "$WORK/time.$name" bash -c "$*" >/dev/null 2>"$WORK/err.$name" || { echo "$name failed:"; cat "$WORK/err.$name"; exit 1; }
  read -r SECS[$name] RSS[$name] <"$WORK/time.$name"
  printf '%-28s %7.2f s  peak RSS %6d MiB\n' "$name" "${SECS[$name]}" "$((RSS[$name] / 1024))"
}

run lz4-1-whole         "lz4 -1 -q -f '$WORK/disk.img' '$WORK/disk.lz4'"
run partclone-lz4       "partclone.ext4 -q -c -s '$WORK/disk.img' -o - | lz4 -1 -q > '$WORK/pc.lz4'"
run lifeboat-raw-full   "$LIFEBOAT image backup --raw '$WORK/disk.img' --store '$WORK/raw-store'"
raw_stored=$(chunk_bytes "$WORK/raw-store")
RAW_ID=$($LIFEBOAT image list --store "$WORK/raw-store" --json | node -e 'const a=JSON.parse(require("fs").readFileSync(0));console.log(a[0].id)')
run lifeboat-raw-restore "$LIFEBOAT image restore $RAW_ID '$WORK/raw-restored.img' --store '$WORK/raw-store'"
cmp "$WORK/disk.img" "$WORK/raw-restored.img" && echo "raw restore is byte-identical to the source"
rm -rf "$WORK/raw-store" "$WORK/raw-restored.img"
run lifeboat-full       "$LIFEBOAT image backup '$WORK/disk.img' --store '$WORK/store'"
stored=$(chunk_bytes "$WORK/store")
stored_dirs=$(dir_bytes "$WORK/store")
run lifeboat-unchanged  "$LIFEBOAT image backup '$WORK/disk.img' --store '$WORK/store'"
# ~1% change: rewrite 30 MiB of file data inside the filesystem image (through debugfs: no mount needed)
head -c 31457280 /dev/urandom > "$WORK/change.bin"
debugfs -w -R "write $WORK/change.bin /change.bin" "$WORK/disk.img" >/dev/null 2>&1
run lifeboat-incremental "$LIFEBOAT image backup '$WORK/disk.img' --store '$WORK/store'"
ID=$($LIFEBOAT image list --store "$WORK/store" --json | node -e 'const a=JSON.parse(require("fs").readFileSync(0));console.log(a[0].id)')   # newest first: the incremental
$LIFEBOAT image show "$ID" --store "$WORK/store" | sed -n 's/^read  */  incremental read: /p'
run lifeboat-restore     "$LIFEBOAT image restore $ID '$WORK/restored.img' --store '$WORK/store' && sync"
truncate -s "$(stat -c %s "$WORK/disk.img")" "$WORK/pc-restored.img"
run partclone-restore    "lz4 -dc '$WORK/pc.lz4' | partclone.ext4 -q -r -s - -O '$WORK/pc-restored.img' && sync"

lz4_bytes=$(stat -c %s "$WORK/disk.lz4")
pc_bytes=$(stat -c %s "$WORK/pc.lz4")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a/b}'; }
echo
echo "== results"
printf '%-44s %s\n' "stored bytes: lifeboat / raw / lz4 -1 / partclone+lz4" "$stored / $raw_stored / $lz4_bytes / $pc_bytes"
printf '%-44s %sx (issue 2 target <= 1.00)\n' "raw full backup vs lz4 -1 whole image" "$(ratio "${SECS[lifeboat-raw-full]}" "${SECS[lz4-1-whole]}")"
printf '%-44s %sx (issue 2 target <= 0.25)\n' "unchanged re-backup vs lz4 -1 whole image" "$(ratio "${SECS[lifeboat-unchanged]}" "${SECS[lz4-1-whole]}")"
printf '%-44s %sx (issue 3 target <= 0.35)\n' "full backup vs partclone|lz4" "$(ratio "${SECS[lifeboat-full]}" "${SECS[partclone-lz4]}")"
printf '%-44s %sx (issue 3 target <= 1.00)\n' "stored bytes vs partclone|lz4" "$(ratio "$stored" "$pc_bytes")"
printf '%-44s %s bytes of chunk directories (%sx with them)\n' "  store directory overhead" "$stored_dirs" "$(ratio "$((stored + stored_dirs))" "$pc_bytes")"
printf '%-44s %sx (issue 3 target <= 0.10)\n' "~1% incremental vs partclone|lz4" "$(ratio "${SECS[lifeboat-incremental]}" "${SECS[partclone-lz4]}")"
printf '%-44s %sx (issue 3 target <= 0.50)\n' "restore (synced) vs partclone restore" "$(ratio "${SECS[lifeboat-restore]}" "${SECS[partclone-restore]}")"
printf '%-44s %s MiB (target < 300)\n' "peak RSS of lifeboat (max of all runs)" "$(for k in "${!RSS[@]}"; do [[ $k == lifeboat* ]] && echo $((RSS[$k] / 1024)); done | sort -n | tail -1)"
e2fsck -fn "$WORK/restored.img" >/dev/null && echo "restored filesystem checks clean (e2fsck -fn)"
e2fsck -fn "$WORK/pc-restored.img" >/dev/null && echo "partclone's restored filesystem checks clean (e2fsck -fn)"
