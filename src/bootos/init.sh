#!/bin/busybox sh
# Lifeboat boot OS /init (PID 1, busybox ash). Copied into the initramfs by initramfs.ts.
#   1. pseudo-filesystems, busybox applets
#   2. kernel modules by modalias, a few rounds (buses found in one round bring new devices)
#   3. every NIC up; DHCP on all of them, or the static address lifeboat.ip/gw/dns
#   4. the agent (Node + one bundled file); it validates the parameters itself
# lifeboat.selftest=1 first runs the image engine's selftest (worker threads, LZ4, SHA-256:
# src/agent/selftest.ts) right after the start checks, before modules and network.
# On any failure: say what failed and what to check on every console, report it to the
# appliance when that is possible without exposing the token, and wait. Never a reboot loop.
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/usr/bin:/bin:/usr/sbin:/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=0755 tmpfs /run
ln -sf /proc/self/fd /dev/fd

# Every active console (the screen and the serial port by default): /dev/console is only the last one.
CONSOLES=$(cat /sys/class/tty/console/active 2>/dev/null)
say() {
  for c in ${CONSOLES:-console}; do echo "lifeboat: $*" >"/dev/$c" 2>/dev/null; done
  echo "lifeboat: $*" >>/run/lifeboat.log
}

PARAMS_SRC=/proc/cmdline
[ -f /etc/lifeboat/params ] && PARAMS_SRC=/etc/lifeboat/params
URL="" IP="" GW="" DNS="" DEBUG=0 SELFTEST=0
for t in $(cat "$PARAMS_SRC"); do
  case "$t" in
    lifeboat.url=*) URL=${t#*=} ;;
    lifeboat.ip=*) IP=${t#*=} ;;
    lifeboat.gw=*) GW=${t#*=} ;;
    lifeboat.dns=*) DNS=${t#*=} ;;
    lifeboat.debug=1) DEBUG=1 ;;
    lifeboat.selftest=1) SELFTEST=1 ;;
  esac
done

# Failure reports go to the appliance only over plain http: busybox wget cannot pin the
# certificate, so over https the token is never handed to it (the agent reports instead).
report() {
  case "$URL" in
    http://*) wget -q -T 5 -O /dev/null --header "Content-Type: text/plain" --post-file /run/lifeboat.log "${URL%/}/agent/v1/boot-failure" 2>/dev/null ;;
  esac
}

fail() {
  stage=$1
  shift
  say "FAILED at $stage: $*"
  say "this machine stays here (no reboot). Its log: /run/lifeboat.log"
  report
  if [ "$DEBUG" = 1 ]; then
    say "lifeboat.debug=1: a shell on the console; exit it to wait"
    setsid cttyhack sh
  fi
  while true; do sleep 3600; done
}

say "boot OS: $(cat /etc/lifeboat/build 2>/dev/null)"
[ -x /usr/bin/node ] || fail "start" "/usr/bin/node is missing from the initramfs: rebuild it with lifeboat bootos build"
AGENT=/usr/lib/lifeboat/dist/agent/agent.cjs

# Runs the agent with its output on every console and in the log; returns its exit status.
agent() {
  set -o pipefail
  /usr/bin/node "$AGENT" "$@" 2>&1 | while IFS= read -r line; do
    for c in ${CONSOLES:-console}; do echo "$line" >"/dev/$c" 2>/dev/null; done
    echo "$line" >>/run/lifeboat.log
  done
  rc=$?
  set +o pipefail
  return $rc
}

if [ "$SELFTEST" = 1 ]; then
  say "selftest of the image engine"
  agent selftest || fail "selftest" "the image engine does not run in this boot OS (its message is above)"
fi

# ---- modules by modalias
loaded=""
for round in 1 2 3 4; do
  aliases=$(cat $(find /sys/devices -name modalias 2>/dev/null) 2>/dev/null | sort -u)
  [ "$aliases" = "$loaded" ] && break
  loaded=$aliases
  echo "$aliases" | xargs modprobe -q -a 2>/dev/null
  sleep 1
done
[ "$DEBUG" = 1 ] && say "modules: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"

# ---- network
NICS=""
for n in /sys/class/net/*; do
  n=${n##*/}
  [ "$n" = lo ] && continue
  ip link set "$n" up && NICS="$NICS $n"
done
ip link set lo up
[ -n "$NICS" ] || fail "network" "no network card found: lsmod shows the drivers loaded; is the NIC supported (kernels/modules.list) or does it need firmware?"
mkdir -p /etc
echo "127.0.0.1 localhost" >/etc/hosts
if [ -n "$IP" ]; then
  # A static address goes on the first card with a link (waiting up to 10 s for one).
  nic=""
  for i in 1 2 3 4 5 6 7 8 9 10; do
    for n in $NICS; do [ "$(cat /sys/class/net/$n/carrier 2>/dev/null)" = 1 ] && nic=$n && break; done
    [ -n "$nic" ] && break
    sleep 1
  done
  [ -n "$nic" ] || fail "network" "no network card has a link (cards:$NICS): check the cable and the switch port"
  ip addr add "$IP" dev "$nic" || fail "network" "cannot set address $IP on $nic (lifeboat.ip)"
  [ -n "$GW" ] && { ip route add default via "$GW" dev "$nic" || fail "network" "cannot route via $GW (lifeboat.gw)"; }
  : >/etc/resolv.conf
  for d in $(echo "$DNS" | tr ',' ' '); do echo "nameserver $d" >>/etc/resolv.conf; done
  say "network: $IP on $nic${GW:+ via $GW}"
else
  for n in $NICS; do udhcpc -i "$n" -n -q -t 6 -T 2 -s /etc/lifeboat/udhcpc.script >/run/udhcpc.$n.log 2>&1 & done
  wait
  leases=$(cat /run/lease.* 2>/dev/null)
  [ -n "$leases" ] || fail "network" "no DHCP answer on any card ($NICS): check the cable, the DHCP server, or boot with lifeboat.ip=<addr/prefix> lifeboat.gw=<gateway>"
  say "network: $(echo $leases)"
fi

# ---- the agent (it validates the parameters and says what is wrong)
say "starting the agent"
agent
rc=$?
# The agent's exit code says what comes next (src/agent/agent.ts EXIT): 0 reboot (no job on
# a network boot: the next boot is the local disk; or a job done), 3 power off, 4 stay (no
# job, booted from a medium: rebooting would boot the medium again), anything else: failed
# or cancelled, its reason is above, and the machine waits here. Never a reboot loop.
case "$rc" in
  0) say "rebooting"; sync; reboot -f ;;
  3) say "powering off"; sync; poweroff -f ;;
  4) say "nothing to do: remove the boot medium and restart this computer to boot its local disk" ;;
  *) fail "agent" "the agent exited with status $rc (its message is above)" ;;
esac
while true; do sleep 3600; done
