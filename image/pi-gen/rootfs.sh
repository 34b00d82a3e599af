#!/bin/bash
# Lay laned and the board settings into a Raspberry Pi OS root file system: what the
# pi-gen stage (image/pi-gen/stage-laned) does on the build host, and what the tests
# assemble in a temporary folder. Run from an unpacked payload (npm run payload).
#
#   laned-<version>-arm64/image/pi-gen/rootfs.sh --root DIR [--writable-root]
#
#   1. image/install.sh --root DIR --kiosk: the slot /opt/laned/slots/a with
#      /opt/laned/current -> slots/a, users, units, udev rules, i2c-dev, /etc/laned
#   2. image/board/ copied over DIR: hardware watchdog (system.conf.d), journal in RAM
#      (journald.conf.d), SSH keys only (sshd_config.d), Chromium policy (the lane's
#      origin only), the state partition (laned-statefs.service, laned.service.d)
#   3. boot/firmware/config.txt: dtparam=i2c_arm=on, dtparam=watchdog=on
#   4. boot/firmware/cmdline.txt: consoleblank=0 (no screen blanking), overlayroot=tmpfs
#      (read-only root, unless --writable-root), without Raspberry Pi OS's first-boot
#      root resize (the free space becomes the state partition)
#   5. etc/fstab: LABEL=laned-state on /var/lib/laned
#
# Options:
#   --root DIR          the root file system (required)
#   --writable-root     no overlayroot: the root stays writable (development boards)
#   -h, --help          this text
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ROOT=
READONLY=1
say() { printf 'rootfs.sh: %s\n' "$*"; }
die() {
  printf 'rootfs.sh: %s\n' "$*" >&2
  exit 1
}
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
    --writable-root) READONLY=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
done
[ -n "$ROOT" ] || die "--root is required"
ROOT=$(cd "$ROOT" && pwd)
[ "$ROOT" != / ] || die "--root /: this lays out an image, not this machine"
BOOT=$ROOT/boot/firmware
for f in config.txt cmdline.txt; do
  [ -f "$BOOT/$f" ] || die "$BOOT/$f missing: is $ROOT a Raspberry Pi OS (bookworm) root file system?"
done

# --- 1. laned, its users, units and rules, and the kiosk ---
bash "$SRC/image/install.sh" --root "$ROOT" --kiosk --no-start

# --- 2. board settings ---
cp -a "$SRC/image/board/." "$ROOT/"
systemctl --root="$ROOT" enable laned-statefs.service >/dev/null 2>&1 || die "systemctl --root=$ROOT enable laned-statefs.service failed"

# --- 3. firmware: I2C and the watchdog (the Raspberry Pi config.txt documentation) ---
add_line() { grep -qsxF "$2" "$1" || printf '%s\n' "$2" >>"$1"; }
grep -qxF '# laned' "$BOOT/config.txt" || printf '\n# laned\n[all]\n' >>"$BOOT/config.txt"
add_line "$BOOT/config.txt" 'dtparam=i2c_arm=on'
add_line "$BOOT/config.txt" 'dtparam=watchdog=on'

# --- 4. kernel command line: one line (cmdline.txt) ---
read -r -a args <"$BOOT/cmdline.txt"
kept=()
for a in "${args[@]}"; do
  case "$a" in
    init=/usr/lib/raspberrypi-sys-mods/firstboot | consoleblank=* | overlayroot=*) ;;
    *) kept+=("$a") ;;
  esac
done
kept+=(consoleblank=0)
[ "$READONLY" = 1 ] && kept+=(overlayroot=tmpfs:recurse=0)
printf '%s\n' "${kept[*]}" >"$BOOT/cmdline.txt"

# --- 5. the state partition ---
add_line "$ROOT/etc/fstab" 'LABEL=laned-state /var/lib/laned ext4 defaults,noatime,nofail,x-systemd.device-timeout=90s 0 2'
say "board root ready in $ROOT ($([ "$READONLY" = 1 ] && echo 'read-only root with overlayroot' || echo 'writable root'))"
