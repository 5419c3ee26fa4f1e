#!/usr/bin/env bash
# TFTP throughput: Lifeboat's server against tftpd-hpa's in.tftpd (run in the foreground
# on another loopback port, not as a service), the same 64 MiB file to the same client
# (curl, one transfer at a time, stop-and-wait as PXE firmware does), with 1468-byte blocks
# and with the default 512, each run checked against the file. Prints the best run of each
# in MB/s, the ratio, and every run's milliseconds: on a shared machine the wall clock swings
# with the load, so look at the spread before trusting a ratio.
#   bash test/bench/tftp-bench.sh            (make bench runs it after the engine bench)
#   TFTP_BENCH_MIB=16 TFTP_BENCH_RUNS=1 bash test/bench/tftp-bench.sh   (a quick look)
set -euo pipefail
cd "$(dirname "$0")/../.."
MIB=${TFTP_BENCH_MIB:-64}
RUNS=${TFTP_BENCH_RUNS:-5}
for tool in curl in.tftpd; do command -v $tool >/dev/null || { echo "$tool is missing: run make apt (packages curl, tftpd-hpa)" >&2; exit 1; }; done

work=$(mktemp -d /tmp/lifeboat-tftp-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -m 755 "$work/root"
head -c $((MIB << 20)) /dev/urandom > "$work/root/bench.bin"
chmod 644 "$work/root/bench.bin"
want=$(sha256sum < "$work/root/bench.bin" | cut -d' ' -f1)

# Lifeboat: the server as its own process; the port it got is on its first line.
node --import tsx test/helpers/tftp-server.ts "$work/root" 127.0.0.1 0 > "$work/lifeboat.log" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$work/lifeboat.log" 2>/dev/null && break; sleep 0.1; done
lb_port=$(head -1 "$work/lifeboat.log" | sed -n 's/.*"port":\([0-9]*\).*/\1/p')
[ -n "$lb_port" ] || { echo "Lifeboat's TFTP server did not start: $(cat "$work/lifeboat.log")" >&2; exit 1; }

# tftpd-hpa on a free port, chrooted to the same directory.
hpa_port=$(node -e "const s=require('dgram').createSocket('udp4');s.bind(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
in.tftpd --foreground --address "127.0.0.1:$hpa_port" --secure "$work/root" &
pids+=($!)
sleep 0.3

# Seconds (with ms) for one fetch; fails loudly if the bytes are not the file's.
fetch() { # port blksize
  local out="$work/out.bin" t0 t1
  rm -f "$out"
  t0=$(date +%s%N)
  curl -sS -o "$out" ${2:+--tftp-blksize $2} "tftp://127.0.0.1:$1/bench.bin"
  t1=$(date +%s%N)
  [ "$(sha256sum < "$out" | cut -d' ' -f1)" = "$want" ] || { echo "the file fetched from port $1 differs from the original" >&2; exit 1; }
  echo $(( (t1 - t0) / 1000000 ))
}

data_path=$(head -1 "$work/lifeboat.log" | sed -n 's/.*"dataPath":"\([a-z]*\)".*/\1/p')
echo "TFTP: ${MIB} MiB over loopback with curl, best of $RUNS runs each (alternating); Lifeboat's data path: $data_path"
[ "$data_path" = native ] || echo "  (dist/native/tftp-send.node is not built: run make build for the native data path)"
printf '%-8s %14s %15s %7s   %s\n' blksize 'Lifeboat MB/s' 'tftpd-hpa MB/s' ratio 'runs in ms (Lifeboat | tftpd-hpa)'
for bs in 1468 512; do
  best_lb=999999999; best_hpa=999999999; runs_lb=""; runs_hpa=""
  for _ in $(seq "$RUNS"); do
    ms=$(fetch "$lb_port" $bs); [ "$ms" -lt "$best_lb" ] && best_lb=$ms; runs_lb="$runs_lb $ms"
    ms=$(fetch "$hpa_port" $bs); [ "$ms" -lt "$best_hpa" ] && best_hpa=$ms; runs_hpa="$runs_hpa $ms"
  done
  awk -v mib="$MIB" -v lb="$best_lb" -v hpa="$best_hpa" -v bs="$bs" -v runs="${runs_lb# } |${runs_hpa}" 'BEGIN {
    a = mib * 1.048576 / (lb / 1000); b = mib * 1.048576 / (hpa / 1000);
    printf "%-8s %14.1f %15.1f %6.2fx   %s\n", bs, a, b, a / b, runs }'
done
