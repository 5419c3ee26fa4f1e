#!/usr/bin/env bash
# make kernels (second half): the signed UEFI boot chain for boot media, from Debian's packages,
# never installed: shim-signed (shimx64.efi, signed by Microsoft's UEFI CA) and
# grub-efi-amd64-signed (gcdx64.efi: GRUB for removable media, signed by Debian, which looks
# for /.disk/info and reads /boot/grub/grub.cfg). `apt-get download` + `dpkg -x` into
# var/kernels/efi/ with manifest.json (package versions, SHA-256 of each file). Cached.
set -Eeuo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$REPO/var/kernels/efi
fail() { printf 'kernels/efi.sh: %s\n' "$*" >&2; exit 1; }
[ -f "$OUT/manifest.json" ] && { echo "efi: cached $OUT"; exit 0; }
scratch=$(mktemp -d "${TMPDIR:-/tmp}/lifeboat-efi-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && apt-get download shim-signed grub-efi-amd64-signed 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
for p in shim-signed grub-efi-amd64-signed; do
  ls "$scratch/${p}_"*.deb >/dev/null 2>&1 || fail "apt-get download $p failed (apt-get update? is the Debian mirror reachable?)"
  dpkg -x "$scratch/${p}_"*.deb "$scratch/x"
done
mkdir -p "$scratch/out"
cp "$scratch/x/usr/lib/shim/shimx64.efi.signed" "$scratch/out/shimx64.efi"
cp "$scratch/x/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed" "$scratch/out/gcdx64.efi"
{
  echo "{"
  echo "  \"format\": \"lifeboat-efi-set\","
  for p in shim-signed grub-efi-amd64-signed; do
    echo "  \"$p\": \"$(dpkg-deb -f "$scratch/${p}_"*.deb Version)\","
  done
  echo "  \"files\": {"
  echo "    \"shimx64.efi\": \"$(sha256sum "$scratch/out/shimx64.efi" | cut -d' ' -f1)\","
  echo "    \"gcdx64.efi\": \"$(sha256sum "$scratch/out/gcdx64.efi" | cut -d' ' -f1)\""
  echo "  }"
  echo "}"
} >"$scratch/out/manifest.json"
rm -rf "$OUT"
mkdir -p "$(dirname "$OUT")"
mv "$scratch/out" "$OUT"
echo "efi: $OUT"
