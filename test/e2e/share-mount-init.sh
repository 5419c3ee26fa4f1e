#!/bin/busybox sh
# Test-only /init for test/e2e/share-mount.integration.test.ts (never in a real boot OS): the
# test appends an uncompressed cpio to the real boot OS initramfs (later members replace
# earlier files) holding this file as /init, the bundled check (test/e2e/share-mount-check.ts,
# beside the agent as usr/lib/lifeboat/dist/agent/share-test.cjs) and its settings, and boots
# it with -kernel/-initrd. Same kernel, modules, busybox and Node as the agent; instead of the
# agent it brings the NIC up with the address share.ip=, names the SMB server nas.lab in
# /etc/hosts (share.server=), runs the check with its output on the console, and powers off.
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /bin /sbin /usr/bin /usr/sbin /etc
/bin/busybox --install -s
export PATH=/usr/bin:/bin:/usr/sbin:/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o mode=0755 tmpfs /run
IP="" SERVER=""
for t in $(cat /proc/cmdline); do
  case "$t" in
    share.ip=*) IP=${t#*=} ;;
    share.server=*) SERVER=${t#*=} ;;
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
ip link set lo up
for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 1; done
ip addr add "$IP" dev "$nic"
printf '127.0.0.1 localhost\n%s nas.lab\n' "$SERVER" >/etc/hosts
echo "share-test: network $IP on $nic" >/dev/console
/usr/bin/node /usr/lib/lifeboat/dist/agent/share-test.cjs /etc/share-test.json >/dev/console 2>&1
echo "share-test: exit $?" >/dev/console
sync
poweroff -f
