#!/usr/bin/env bash
# Boot OS benchmark (part of `make bench`): initramfs size and build time (cold: runtime
# archive compressed; warm: cached), per compressor, and QEMU (TCG) start → agent hello with
# -kernel/-initrd, for each. Prints one table. Needs `make build` (dist/) first.
#   BOOTOS_BENCH_KINDS="zstd:19 xz:9"   the compressors and levels to measure
set -Eeuo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
KINDS=${BOOTOS_BENCH_KINDS:-"zstd:19 xz:9"}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lifeboat-bootos-bench-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
bash kernels/build.sh >/dev/null
NODE=$(bash src/bootos/node-runtime.sh)
[ -f dist/agent/agent.cjs ] || { echo "bootos-bench: dist/agent/agent.cjs is missing: run make build" >&2; exit 1; }

# Seconds from QEMU's start to the hello reaching a listener on the host (10.0.2.2 in the guest).
hello_seconds() {
  local dir=$1
  node --input-type=module -e '
    import { createServer } from "node:http";
    import { spawn } from "node:child_process";
    const dir = process.argv[1];
    const t0 = Date.now();
    let qemu;
    const server = createServer((req, res) => { res.end("{}"); console.log(((Date.now() - t0) / 1000).toFixed(1)); qemu.kill("SIGKILL"); server.close(); });
    server.listen(0, "127.0.0.1", () => {
      const port = server.address().port;
      qemu = spawn("qemu-system-x86_64", ["-accel", "tcg", "-cpu", "max", "-m", "1024", "-display", "none", "-monitor", "none", "-serial", `file:${dir}/console.log`, "-no-reboot",
        "-kernel", `${dir}/boot/lifeboat/vmlinuz`, "-initrd", `${dir}/boot/lifeboat/initrd.img`,
        "-append", `console=ttyS0,115200n8 lifeboat.url=http://10.0.2.2:${port} lifeboat.token=bench_token_0123456789`,
        "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"], { stdio: "ignore" });
      setTimeout(() => { console.log("timeout"); qemu.kill("SIGKILL"); server.close(); }, 600000).unref();
    });
  ' "$dir"
}

printf '%-8s %12s %12s %12s %14s\n' compress "initrd MB" "cold build s" "warm build s" "start→hello s"
for spec in $KINDS; do
  kind=${spec%%:*} level=${spec##*:}
  d=$WORK/$kind
  t0=$(date +%s.%N)
  # cold: a cache of its own (the runtime archive is compressed); warm: that cache reused
  node dist/cli/main.js bootos build --data-dir "$d" --node "$NODE" --compress "$kind" --level "$level" --json >"$d.cold.json"
  t1=$(date +%s.%N)
  node dist/cli/main.js bootos build --data-dir "$d" --node "$NODE" --compress "$kind" --level "$level" --json >"$d.warm.json"
  t2=$(date +%s.%N)
  size=$(stat -c %s "$d/boot/lifeboat/initrd.img")
  hello=$(hello_seconds "$d")
  printf '%-8s %12.1f %12.1f %12.1f %14s\n' "$kind-$level" "$(echo "$size / 1000000" | bc -l)" "$(echo "$t1 - $t0" | bc -l)" "$(echo "$t2 - $t1" | bc -l)" "$hello"
done
