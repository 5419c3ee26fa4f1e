#!/usr/bin/env bash
# make bench, HTTP boot: a 64 MiB initrd fetched by curl over loopback from Lifeboat's HTTP
# boot server and from busybox httpd (a static file server), same file, same client, same
# run. Best of 9 each, taking turns (page cache warm). Target: Lifeboat ≥ 0.9× busybox httpd's throughput.
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=$(mktemp -d /var/tmp/lifeboat-http-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$WORK/root/bootos"
head -c 64M /dev/urandom >"$WORK/root/bootos/initrd.img"
cat "$WORK/root/bootos/initrd.img" >/dev/null

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_port() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.05; done; echo "nothing listens on $1" >&2; return 1; }

LB_PORT=$(free_port)
node test/bench/serve-http-boot.mjs "$WORK/root" "$LB_PORT" >/dev/null &
PIDS+=($!)
BB_PORT=$(free_port)
busybox httpd -f -p "127.0.0.1:$BB_PORT" -h "$WORK/root" &
PIDS+=($!)
wait_port "$LB_PORT"; wait_port "$BB_PORT"

# best MB/s of 9 fetches each, the two servers taking turns (noise hits both alike)
lb=0; bb=0
speed() { curl -s -o /dev/null -w '%{speed_download}' "$1"; }
max() { awk -v a="$1" -v b="$2" 'BEGIN{print (b > a) ? b : a}'; }
for _ in $(seq 9); do
  lb=$(max "$lb" "$(speed "http://127.0.0.1:$LB_PORT/boot/files/bootos/initrd.img")")
  bb=$(max "$bb" "$(speed "http://127.0.0.1:$BB_PORT/bootos/initrd.img")")
done
lb=$(awk -v b="$lb" 'BEGIN{printf "%.1f", b / 1e6}')
bb=$(awk -v b="$bb" 'BEGIN{printf "%.1f", b / 1e6}')
size=$(stat -c %s "$WORK/root/bootos/initrd.img")
got=$(curl -s "http://127.0.0.1:$LB_PORT/boot/files/bootos/initrd.img" | wc -c)
[ "$got" = "$size" ] || { echo "Lifeboat served $got of $size bytes" >&2; exit 1; }
echo "== HTTP boot: 64 MiB initrd over loopback (curl, best of 9, taking turns)"
printf '%-28s %8s MB/s\n' "lifeboat http boot" "$lb" "busybox httpd" "$bb"
awk -v a="$lb" -v b="$bb" 'BEGIN{r=a/b; printf "HTTP throughput vs busybox httpd: %.2fx (target >= 0.90) %s\n", r, (r >= 0.9) ? "met" : "NOT MET"}'
