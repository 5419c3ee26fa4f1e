# Lifeboat — every entry point installs what it needs on a fresh Debian machine (as root).
#   make demo    the appliance for real: two QEMU machines network-boot, A is backed up, its image restored onto B, B checked
#   make demo-local  the engine alone on a file (sample disk → backup → incremental → restore → verify)
#   make test    type-check, lint, every test (and the CLI and unit tests again under Node 24)
#   make build   compile TypeScript to dist/; then `npx lifeboat …` works here
#   make install put `lifeboat` on PATH (PREFIX=/usr/local)
#   make bench   speed and memory against lz4 -1 and partclone, in one run; TFTP against tftpd-hpa, DHCP against dnsmasq, HTTP boot against busybox httpd; the agent in a QEMU VM against dd | lz4 -1 | nc

SHELL := /bin/bash
# dnsmasq-base: the dnsmasq binary only, no service that would answer DHCP on this host (the
# DHCP tests and bench run it themselves, in network namespaces they make).
PREFIX ?= /usr/local
APT_PACKAGES := bc binutils lz4 liblz4-dev e2fsprogs dosfstools mtools ntfs-3g gdisk fdisk partclone time xxd tmux systemd tzdata python3 make g++ iproute2 util-linux openssh-server busybox-static qemu-system-x86 ipxe-qemu ovmf ipxe shim-signed grub-efi-amd64-signed isc-dhcp-client isc-dhcp-relay dnsmasq-base curl tftp-hpa tftpd-hpa nftables zstd xz-utils cpio openssl xorriso isolinux syslinux-common samba smbclient
STAMP := var/.stamps

.PHONY: all deps apt npm build kernels bootos test test-node24 unit lint typecheck demo demo-local bench install install-appliance uninstall clean

all: build

$(STAMP):
	@mkdir -p $(STAMP)

# apt-get update once, and only when a package is missing.
apt: | $(STAMP)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
	  case " $$missing " in *" tftpd-hpa "*) \
	    echo "tftpd-hpa is here for the TFTP bench only (in.tftpd on a loopback port): its system service is disabled"; \
	    if [ -d /run/systemd/system ]; then systemctl disable --now tftpd-hpa.service || true; \
	    else invoke-rc.d tftpd-hpa stop >/dev/null 2>&1 || true; update-rc.d tftpd-hpa disable >/dev/null 2>&1 || true; fi;; \
	  esac; \
	fi

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

npm: node_modules/.installed

deps: apt npm

# SO_PEERCRED for the operator socket's audit trail: a Node-API addon (one build serves
# Node 20 and 24), compiled against the headers of the node that runs the build.
NODE_INCLUDE = $(shell node -p "require('path').resolve(process.execPath, '../../include/node')")
dist/native/peercred.node: src/api/native/peercred.c
	@mkdir -p dist/native
	@test -f $(NODE_INCLUDE)/node_api.h || { echo "node_api.h not found in $(NODE_INCLUDE): install node's headers (Debian: the nodejs package from NodeSource has them)" >&2; exit 1; }
	cc -O2 -Wall -Wextra -shared -fPIC -I$(NODE_INCLUDE) -o $@ $<

# SO_BINDTODEVICE for the DHCP server (it must answer on the boot interface only), the same way.
dist/native/bind-device.node: src/boot/native/bind-device.c
	@mkdir -p dist/native
	@test -f $(NODE_INCLUDE)/node_api.h || { echo "node_api.h not found in $(NODE_INCLUDE): install node's headers (Debian: the nodejs package from NodeSource has them)" >&2; exit 1; }
	cc -O2 -Wall -Wextra -shared -fPIC -I$(NODE_INCLUDE) -o $@ $<

# The image engine's LZ4 block codec over Debian's liblz4 (liblz4-dev to build, liblz4-1 to
# run), the same way. src/ (tsx), dist/ and the agent bundle all load dist/native/lz4.node
# (src/imaging/lz4-frame.ts says how); the boot OS carries it with liblz4.so.1.
dist/native/lz4.node: src/imaging/native/lz4.c | apt
	@mkdir -p dist/native
	@test -f $(NODE_INCLUDE)/node_api.h || { echo "node_api.h not found in $(NODE_INCLUDE): install node's headers (Debian: the nodejs package from NodeSource has them)" >&2; exit 1; }
	@test -f /usr/include/lz4.h || { echo "/usr/include/lz4.h not found: install liblz4-dev (make apt)" >&2; exit 1; }
	cc -O2 -Wall -Wextra -shared -fPIC -I$(NODE_INCLUDE) -o $@ $< -llz4

# The TFTP data path: a read transfer's blocks sent from a thread of its own (faster per
# block than Node's dgram; the server falls back to dgram when this is not built).
dist/native/tftp-send.node: src/boot/native/tftp-send.c src/boot/native/tftp-transfer.c src/boot/native/tftp-transfer.h
	@mkdir -p dist/native
	@test -f $(NODE_INCLUDE)/node_api.h || { echo "node_api.h not found in $(NODE_INCLUDE): install node's headers (Debian: the nodejs package from NodeSource has them)" >&2; exit 1; }
	cc -O2 -Wall -Wextra -shared -fPIC -I$(NODE_INCLUDE) -o $@ src/boot/native/tftp-send.c src/boot/native/tftp-transfer.c -lpthread

build: npm dist/native/peercred.node dist/native/bind-device.node dist/native/lz4.node dist/native/tftp-send.node
	npx tsc -p tsconfig.build.json
	@chmod +x dist/cli/main.js
	cp src/bootos/init.sh src/bootos/udhcpc.script dist/bootos/
	bash src/bootos/bundle-agent.sh dist/agent/agent.cjs
	@ln -sf ../../dist/cli/main.js node_modules/.bin/lifeboat
	node dist/cli/main.js manpage > dist/lifeboat.1
	@touch dist/.built

# The boot OS's kernel set (Debian's signed kernel and the modules in kernels/modules.list,
# unchanged) into var/kernels/; then `lifeboat bootos build` writes kernel + initramfs.
kernels: apt
	bash kernels/build.sh
	bash kernels/efi.sh

bootos: deps build kernels
	bash src/bootos/node-runtime.sh
	node dist/cli/main.js bootos build --data-dir var/appliance --node var/node24/node/bin/node --cache var/cache/bootos

typecheck: npm
	npx tsc -p tsconfig.json --noEmit

lint: npm
	npx eslint .

# Node 24 is what the appliance and boot OS ship: the CLI round trip and the unit and
# parser tests (src/) run again under it, with node_modules rebuilt for it in var/node24/.
# `make test-node24` runs the whole suite under Node 24.
NODE24_VERSION ?= 24.21.0

test: deps build typecheck lint
	node test/run-tests.mjs
	NODE24_SKIP_MAKE=1 NODE24_VERSION=$(NODE24_VERSION) bash test/node24.sh src/

test-node24: deps build
	NODE24_SKIP_MAKE=1 NODE24_VERSION=$(NODE24_VERSION) bash test/node24.sh

unit: npm
	node test/run-tests.mjs src/

# The real thing (root, QEMU under TCG, a few minutes): the boot OS, the daemon on a lab network
# of its own, machine A backed up over the wire, its image restored onto machine B, B checked.
# Exits 0 only when all of that was checked; 2 when it stopped after the machines' hellos
# because the agent cannot back up yet.
demo: deps build
	node --import tsx test/e2e/demo.ts

# The engine alone, on a disk-image file: no daemon, no network, no VM.
demo-local: deps build
	bash test/demo-local.sh

bench: deps build
	bash test/bench/engine-bench.sh
	bash test/bench/tftp-bench.sh
	node --import tsx test/bench/dhcp-bench.ts
	bash test/bench/http-bench.sh
	bash test/bench/bootos-bench.sh
	node --import tsx test/bench/agent-bench.ts

# Copies what `make build` made (node_modules with its compiled addons included, then the
# dev dependencies pruned away): no second `npm ci`, no network. The README lands where the
# units' Documentation= says ($(PREFIX)/lib/lifeboat/README.md), the man page in man1.
# After `make build`, install copies what it built (no second build: a build rewriting dist/
# while the test suite runs from it would pull modules out from under its worker threads).
install: deps $(if $(wildcard dist/.built),,build)
	rm -rf $(PREFIX)/lib/lifeboat
	mkdir -p $(PREFIX)/lib/lifeboat $(PREFIX)/bin $(PREFIX)/share/man/man1
	cp -r dist node_modules package.json package-lock.json README.md $(PREFIX)/lib/lifeboat/
	cd $(PREFIX)/lib/lifeboat && npm prune --omit=dev --no-audit --no-fund --ignore-scripts >/dev/null
	ln -sf $(PREFIX)/lib/lifeboat/dist/cli/main.js $(PREFIX)/bin/lifeboat
	install -m 0644 dist/lifeboat.1 $(PREFIX)/share/man/man1/lifeboat.1
	@echo "installed: $(PREFIX)/bin/lifeboat, man page $(PREFIX)/share/man/man1/lifeboat.1"

# The appliance: the operator group, the units, the daemon and its gc and verify timers.
UNITDIR ?= /etc/systemd/system
install-appliance: install
	getent group lifeboat >/dev/null || groupadd --system lifeboat
	install -d -m 0755 /etc/lifeboat $(UNITDIR)
	for u in systemd/*.service systemd/*.timer; do sed 's#/usr/local/#$(PREFIX)/#g' "$$u" > $(UNITDIR)/$$(basename "$$u") && chmod 0644 $(UNITDIR)/$$(basename "$$u"); done
	if [ -d /run/systemd/system ]; then systemctl daemon-reload && systemctl enable --now lifeboat.service lifeboat-gc.timer lifeboat-verify.timer; fi
	@echo "operators: usermod -aG lifeboat <user>; console and SSH: see appliance/console.md"

uninstall:
	rm -rf $(PREFIX)/lib/lifeboat $(PREFIX)/bin/lifeboat $(PREFIX)/share/man/man1/lifeboat.1

clean:
	rm -rf dist var
