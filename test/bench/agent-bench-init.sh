#!/bin/busybox sh
# Bench-only /init for the anchor of test/bench/agent-bench.ts (never in a real boot OS): the
# bench appends an uncompressed cpio holding this file as /init and Debian's /usr/bin/lz4 to
# the real boot OS initramfs (later members replace earlier files), and boots it with
# -kernel/-initrd. Same kernel, modules, NIC and disk as the agent's run; instead of the agent:
#   bench.mode=backup   dd if=/dev/vda bs=4M | lz4 -1 | nc <host> <port>
#   bench.mode=restore  nc <host> <port> | lz4 -d | dd of=/dev/vda bs=4M
# timed with /proc/uptime around the pipeline, printed as "bench: <mode> <seconds> s rc <status>",
# then the machine powers off.
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/usr/bin:/bin:/usr/sbin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
MODE="" HOST="" PORT="" IP=""
for t in $(cat /proc/cmdline); do
  case "$t" in
    bench.mode=*) MODE=${t#*=} ;;
    bench.host=*) HOST=${t#*=} ;;
    bench.port=*) PORT=${t#*=} ;;
    bench.ip=*) IP=${t#*=} ;;
  esac
done
for round in 1 2 3; do
  cat $(find /sys/devices -name modalias 2>/dev/null) 2>/dev/null | sort -u | xargs modprobe -q -a 2>/dev/null
  sleep 1
done
nic=""
for i in 1 2 3 4 5 6 7 8 9 10; do
  for n in /sys/class/net/*; do
    n=${n##*/}
    [ "$n" = lo ] && continue
    ip link set "$n" up
    [ "$(cat /sys/class/net/$n/carrier 2>/dev/null)" = 1 ] && nic=$n
  done
  [ -n "$nic" ] && break
  sleep 1
done
ip addr add "$IP" dev "$nic"
while [ ! -b /dev/vda ]; do sleep 1; done
sleep 1
t0=$(cut -d' ' -f1 /proc/uptime)
set -o pipefail
if [ "$MODE" = backup ]; then
  dd if=/dev/vda bs=4M 2>/dev/null | lz4 -1 -q | nc "$HOST" "$PORT"
else
  nc "$HOST" "$PORT" </dev/null | lz4 -d -q | dd of=/dev/vda bs=4M 2>/dev/null && sync
fi
rc=$?
t1=$(cut -d' ' -f1 /proc/uptime)
echo "bench: $MODE $(echo "$t1 $t0" | awk '{ printf "%.2f", $1 - $2 }') s rc $rc" >/dev/console
sync
poweroff -f
