#!/bin/bash
# Install laned on a board (Raspberry Pi OS / Debian 12, systemd) from a built checkout.
#
#   npm ci && npm run build          # on the board or a machine of the same architecture
#   sudo image/install.sh            # then: lanectl status
#
# What it does (image/README.md says why):
#   1. groups dialout, i2c, gpio, input (created when missing) and the system user
#      laned in them, home /var/lib/laned, no login shell
#   2. the package under /opt/laned (dist/, ui-static/, package files, production
#      node_modules), replaced as a whole
#   3. /usr/local/bin/laned and /usr/local/bin/lanectl as links into it
#   4. /etc/systemd/system/laned.service, /etc/udev/rules.d/70-laned.rules,
#      /etc/modules-load.d/laned.conf; /etc/laned/laned.yaml once (never overwritten)
#   5. systemctl daemon-reload, udev reload, i2c-dev loaded, laned enabled and (re)started
#
# Options:
#   --root DIR          install into DIR instead of / (an image being built, a test);
#                       users and groups go to DIR/etc with useradd --prefix; nothing
#                       is started
#   --prefix DIR        package folder (default /opt/laned)
#   --modules MODE      node_modules: npm (default: npm ci --omit=dev, then the native
#                       modules built), copy (this checkout's, e.g. built offline on
#                       the board), none (left out: a later image stage adds them)
#   --no-start          install and enable, but do not (re)start laned
#   -h, --help          this text
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=/
PREFIX=/opt/laned
MODULES=npm
START=1
GROUPS_NEEDED=(dialout i2c gpio input)
NATIVE=(sqlite3 @serialport/bindings-cpp i2c-bus epoll)

say() { printf 'install.sh: %s\n' "$*"; }
die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
    --prefix) PREFIX=${2:?--prefix needs a directory}; shift 2 ;;
    --modules) MODULES=${2:?--modules needs npm, copy or none}; shift 2 ;;
    --no-start) START=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
done
case "$MODULES" in npm | copy | none) ;; *) die "--modules $MODULES: use npm, copy or none" ;; esac
case "$PREFIX" in /*) ;; *) die "--prefix $PREFIX: an absolute path" ;; esac
ROOT=${ROOT%/}
ON_BOARD=0
[ -z "$ROOT" ] && ON_BOARD=1
DEST=$ROOT$PREFIX

# --- checks: before anything is written ---
if [ "$ON_BOARD" = 1 ] && [ "$(id -u)" != 0 ]; then die "run as root (sudo $0)"; fi
[ -x "$SRC/dist/daemon/main.js" ] || die "$SRC/dist/daemon/main.js missing or not executable: run npm ci && npm run build in $SRC first"
[ -f "$SRC/package-lock.json" ] || die "$SRC/package-lock.json missing: install from a checkout of laned"
NODE=$(command -v node || true)
if [ -z "$NODE" ]; then
  [ "$ON_BOARD" = 1 ] && die "node not found: install Node.js 20 (e.g. apt-get install nodejs from NodeSource)"
  NODE=/usr/bin/node
  say "node not found here; the unit runs $NODE"
else
  major=$("$NODE" -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || die "node $("$NODE" --version) at $NODE is too old: laned needs Node.js 20 or newer"
fi
if [ "$MODULES" = copy ] && [ ! -d "$SRC/node_modules" ]; then die "--modules copy: $SRC/node_modules missing (npm ci first)"; fi

# --- 1. groups and the laned user ---
prefix_args=()
[ "$ON_BOARD" = 0 ] && prefix_args=(--prefix "$ROOT")
group_exists() { grep -q "^$1:" "$ROOT/etc/group" 2>/dev/null; }
for g in "${GROUPS_NEEDED[@]}"; do
  if ! group_exists "$g"; then
    say "creating group $g"
    groupadd "${prefix_args[@]}" --system "$g"
  fi
done
if ! grep -q '^laned:' "$ROOT/etc/passwd" 2>/dev/null; then
  say "creating system user laned"
  useradd "${prefix_args[@]}" --system --user-group --home-dir /var/lib/laned --no-create-home \
    --shell /usr/sbin/nologin --comment 'laned checkout lane' laned
fi
usermod "${prefix_args[@]}" --append --groups "$(IFS=,; echo "${GROUPS_NEEDED[*]}")" laned

# --- 2. the package, staged next to its place and swapped in ---
stage="$DEST.new"
rm -rf "$stage"
install -d -m 0755 "$stage"
cp -a "$SRC/dist" "$SRC/ui-static" "$SRC/package.json" "$SRC/package-lock.json" "$stage/"
for f in README.md systemd image; do
  if [ -e "$SRC/$f" ]; then cp -a "$SRC/$f" "$stage/"; fi
done
# test builds, source maps of tests and benchmarks do not belong on a lane
rm -rf "$stage/dist/test"
case "$MODULES" in
  npm)
    say "npm ci --omit=dev in $stage (needs the npm registry or a cache)"
    (cd "$stage" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
    say "building native modules: ${NATIVE[*]}"
    (cd "$stage" && npm rebuild "${NATIVE[@]}" >/dev/null)
    ;;
  copy)
    cp -a "$SRC/node_modules" "$stage/"
    (cd "$stage" && npm prune --omit=dev --no-audit --no-fund >/dev/null) || say "npm prune failed: dev dependencies stay in $stage/node_modules"
    ;;
  none) say "node_modules left out (--modules none)" ;;
esac
chmod 0755 "$stage/dist/daemon/main.js" "$stage/dist/daemon/cli/lanectl.js"
if [ -e "$DEST" ]; then
  rm -rf "$DEST.old"
  mv "$DEST" "$DEST.old"
fi
mv "$stage" "$DEST"
rm -rf "$DEST.old"
say "installed $(sed -nE 's/^  "version": "([^"]+)".*/\1/p' "$DEST/package.json" | head -n1) in $DEST"

# --- 3. commands ---
install -d -m 0755 "$ROOT/usr/local/bin"
ln -sfn "$PREFIX/dist/daemon/main.js" "$ROOT/usr/local/bin/laned"
ln -sfn "$PREFIX/dist/daemon/cli/lanectl.js" "$ROOT/usr/local/bin/lanectl"

# --- 4. unit, udev, modules, config ---
install -d -m 0755 "$ROOT/etc/systemd/system" "$ROOT/etc/udev/rules.d" "$ROOT/etc/modules-load.d"
sed -e "s#^ExecStart=/usr/bin/node \([^/]*\)/opt/laned/#ExecStart=$NODE \1$PREFIX/#" \
  -e "s#file:/opt/laned/#file:$PREFIX/#" \
  "$SRC/systemd/laned.service" >"$ROOT/etc/systemd/system/laned.service"
chmod 0644 "$ROOT/etc/systemd/system/laned.service"
install -m 0644 "$SRC/systemd/udev/70-laned.rules" "$ROOT/etc/udev/rules.d/70-laned.rules"
install -m 0644 "$SRC/systemd/modules-load.d/laned.conf" "$ROOT/etc/modules-load.d/laned.conf"
# root:laned 0750/0640: laned reads its config, only root changes it
own=()
[ "$(id -u)" = 0 ] && own=(-o 0 -g "$(grep '^laned:' "$ROOT/etc/group" | cut -d: -f3)")
install -d -m 0750 "${own[@]}" "$ROOT/etc/laned"
if [ ! -e "$ROOT/etc/laned/laned.yaml" ]; then
  install -m 0640 "${own[@]}" "$SRC/image/laned.yaml" "$ROOT/etc/laned/laned.yaml"
  say "wrote $ROOT/etc/laned/laned.yaml: set lane.id, storeId and the devices of this lane"
else
  say "kept $ROOT/etc/laned/laned.yaml"
fi

# --- 5. hand over to systemd ---
if [ "$ON_BOARD" = 0 ]; then
  say "done in $ROOT (nothing started: --root)"
  exit 0
fi
systemctl daemon-reload
if command -v udevadm >/dev/null; then
  udevadm control --reload
  udevadm trigger --action=change --subsystem-match=tty --subsystem-match=i2c-dev --subsystem-match=gpio --subsystem-match=input
fi
modprobe i2c-dev 2>/dev/null || say "could not load i2c-dev now; it loads at boot (/etc/modules-load.d/laned.conf)"
if [ -e /boot/firmware/config.txt ] && ! grep -q '^dtparam=i2c_arm=on' /boot/firmware/config.txt; then
  say "I2C is off on this Pi: add dtparam=i2c_arm=on to /boot/firmware/config.txt (or raspi-config) and reboot"
fi
systemctl enable laned.service >/dev/null
if [ "$START" = 1 ]; then
  systemctl restart laned.service
  say "laned started: systemctl status laned; lanectl status"
else
  say "laned enabled, not started (--no-start)"
fi
