#!/bin/bash
# Install laned on a board (Raspberry Pi OS / Debian 12, systemd) from a payload
# (npm run payload -- --arch arm64: its own Node and native addons) or a built checkout.
#
#   sudo laned-<version>-arm64/image/install.sh   # from an unpacked payload, or:
#   npm ci && npm run build && sudo image/install.sh   # a checkout, on the board itself
#
# What it does (image/README.md says why):
#   1. groups dialout, i2c, gpio, input (created when missing) and the system user
#      laned in them, home /var/lib/laned, no login shell
#   2. the package in slot /opt/laned/slots/<slot> (dist/, ui-static/, package files,
#      production node_modules; a payload's runtime/ too), replaced as a whole, and
#      /opt/laned/current -> slots/<slot> (the unit runs /opt/laned/current/...),
#      /opt/laned/good -> the same slot (the updater's boot check runs from there),
#      updater.json told so; /opt/laned belongs to laned (it stages and switches updates)
#   3. /usr/local/bin/laned and /usr/local/bin/lanectl as links into current
#   4. /etc/systemd/system/laned.service and laned-rollback.service, /etc/udev/rules.d/70-laned.rules,
#      /etc/modules-load.d/laned.conf; /etc/laned/laned.yaml once (never overwritten);
#      with --kiosk: laned-kiosk.service, its user and PAM file
#   5. laned (and the kiosk) enabled; on a board: systemctl daemon-reload, udev
#      reload, i2c-dev loaded, laned (re)started
#
# Options:
#   --root DIR          install into DIR instead of / (an image being built, a test);
#                       users and groups go to DIR/etc with useradd --prefix; nothing
#                       is started
#   --prefix DIR        package folder (default /opt/laned)
#   --slot a|b          the slot to (re)fill (default: the one current points to, else a)
#   --modules MODE      node_modules of a checkout: npm (default: npm ci --omit=dev,
#                       then the native modules built), copy (this checkout's, e.g.
#                       built offline on the board), none (left out); a payload
#                       always brings its own
#   --kiosk             also the touch screen: laned-kiosk.service (cage + Chromium)
#   --no-start          install and enable, but do not (re)start laned
#   -h, --help          this text
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=/
PREFIX=/opt/laned
SLOT=
MODULES=npm
START=1
KIOSK=0
GROUPS_NEEDED=(dialout i2c gpio input)
KIOSK_GROUPS=(video render input)
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
    --slot) SLOT=${2:?--slot needs a or b}; shift 2 ;;
    --modules) MODULES=${2:?--modules needs npm, copy or none}; shift 2 ;;
    --kiosk) KIOSK=1; shift ;;
    --no-start) START=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
done
case "$MODULES" in npm | copy | none) ;; *) die "--modules $MODULES: use npm, copy or none" ;; esac
case "$PREFIX" in /*) ;; *) die "--prefix $PREFIX: an absolute path" ;; esac
case "$SLOT" in '' | a | b) ;; *) die "--slot $SLOT: use a or b" ;; esac
ROOT=${ROOT%/}
ON_BOARD=0
[ -z "$ROOT" ] && ON_BOARD=1
DEST=$ROOT$PREFIX
# A/B slots (image/README.md, "Slots"): the unit and the links run $PREFIX/current/...
if [ -z "$SLOT" ]; then
  SLOT=a
  if [ -L "$DEST/current" ]; then
    case "$(readlink "$DEST/current")" in slots/b | "$PREFIX/slots/b") SLOT=b ;; esac
  fi
fi
CURRENT=$PREFIX/current

# --- checks: before anything is written ---
if [ "$ON_BOARD" = 1 ] && [ "$(id -u)" != 0 ]; then die "run as root (sudo $0)"; fi
[ -f "$SRC/dist/daemon/main.js" ] || die "$SRC/dist/daemon/main.js missing: run npm ci && npm run build in $SRC first (or install from a payload)"
[ -f "$SRC/package-lock.json" ] || die "$SRC/package-lock.json missing: install from a checkout or a payload of laned"
PAYLOAD=0
if [ -f "$SRC/payload.json" ]; then
  # a payload (image/payload.sh) brings its Node: the unit runs $CURRENT/runtime/node
  PAYLOAD=1
  [ -x "$SRC/runtime/node" ] || die "$SRC/runtime/node missing: the payload is incomplete, build it again"
  [ -d "$SRC/node_modules" ] || die "$SRC/node_modules missing: the payload is incomplete, build it again"
  NODE=$CURRENT/runtime/node
  if [ "$ON_BOARD" = 1 ] && ! "$SRC/runtime/node" -e 0 2>/dev/null; then
    die "$SRC/runtime/node does not run here: this payload is for $(sed -nE 's/^  "arch": "([^"]+)".*/\1/p' "$SRC/payload.json") ($(uname -m) here)"
  fi
else
  NODE=$(command -v node || true)
  if [ -z "$NODE" ]; then
    [ "$ON_BOARD" = 1 ] && die "node not found: install Node.js 20, or install from a payload (npm run payload), which brings its own"
    NODE=/usr/bin/node
    say "node not found here; the unit runs $NODE"
  else
    major=$("$NODE" -p 'process.versions.node.split(".")[0]')
    [ "$major" -ge 20 ] || die "node $("$NODE" --version) at $NODE is too old: laned needs Node.js 20 or newer (a payload brings its own)"
  fi
  if [ "$MODULES" = copy ] && [ ! -d "$SRC/node_modules" ]; then die "--modules copy: $SRC/node_modules missing (npm ci first)"; fi
fi

# --- 1. groups and the users ---
prefix_args=()
[ "$ON_BOARD" = 0 ] && prefix_args=(--prefix "$ROOT")
group_exists() { grep -q "^$1:" "$ROOT/etc/group" 2>/dev/null; }
system_user() { # name, home, comment, groups...
  local name=$1 home=$2 comment=$3
  shift 3
  for g in "$@"; do
    if ! group_exists "$g"; then
      say "creating group $g"
      groupadd "${prefix_args[@]}" --system "$g"
    fi
  done
  if ! grep -q "^$name:" "$ROOT/etc/passwd" 2>/dev/null; then
    say "creating system user $name"
    useradd "${prefix_args[@]}" --system --user-group --home-dir "$home" --no-create-home \
      --shell /usr/sbin/nologin --comment "$comment" "$name"
  fi
  usermod "${prefix_args[@]}" --append --groups "$(IFS=,; echo "$*")" "$name"
}
system_user laned /var/lib/laned 'laned checkout lane' "${GROUPS_NEEDED[@]}"
[ "$KIOSK" = 1 ] && system_user laned-kiosk /var/lib/laned-kiosk 'laned touch screen' "${KIOSK_GROUPS[@]}"

# --- 2. the package, staged next to its slot and swapped in ---
install -d -m 0755 "$DEST" "$DEST/slots"
if [ -d "$DEST/dist" ] && [ ! -L "$DEST/current" ]; then
  # a package installed before the slots: make way, it is replaced below
  say "moving the package in $DEST (before slots) aside"
  find "$DEST" -mindepth 1 -maxdepth 1 ! -name slots -exec rm -rf {} +
fi
slot=$DEST/slots/$SLOT
stage="$slot.new"
rm -rf "$stage"
install -d -m 0755 "$stage"
if [ "$PAYLOAD" = 1 ]; then
  cp -a "$SRC/." "$stage/"
else
  cp -a "$SRC/dist" "$SRC/ui-static" "$SRC/package.json" "$SRC/package-lock.json" "$stage/"
  for f in README.md systemd image; do
    if [ -e "$SRC/$f" ]; then cp -a "$SRC/$f" "$stage/"; fi
  done
  rm -rf "$stage/image/bin"
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
fi
# test builds, source maps of tests and benchmarks do not belong on a lane
rm -rf "$stage/dist/test"
chmod 0755 "$stage/dist/daemon/main.js" "$stage/dist/daemon/cli/lanectl.js"
if [ -e "$slot" ]; then
  rm -rf "$slot.old"
  mv "$slot" "$slot.old"
fi
mv "$stage" "$slot"
rm -rf "$slot.old"
# current -> slots/<slot>, relative (right inside an image too), switched atomically
ln -sfn "slots/$SLOT" "$DEST/current.new"
mv -T "$DEST/current.new" "$DEST/current"
# the version installed by hand is the good one: the boot check keeps current there
ln -sfn "slots/$SLOT" "$DEST/good.new"
mv -T "$DEST/good.new" "$DEST/good"
if [ -f "$DEST/updater.json" ]; then
  # a trial or staged version from before is over; the history stays
  node_here=$(command -v node || echo "$SRC/runtime/node")
  "$node_here" -e '
    const fs = require("fs"); const [file, slot] = process.argv.slice(1);
    const s = JSON.parse(fs.readFileSync(file, "utf8"));
    delete s.trial; delete s.staged; delete s.progress;
    Object.assign(s, { state: "good", reason: "installed by image/install.sh", active: slot, good: slot });
    const v = JSON.parse(fs.readFileSync(require("path").join(file, "..", "slots", slot, "package.json"), "utf8")).version;
    s.history = [...(s.history ?? []), { at: new Date().toISOString(), to: slot, version: v, outcome: "installed" }].slice(-50);
    fs.writeFileSync(file + ".tmp", JSON.stringify(s, null, 2) + "\n"); fs.renameSync(file + ".tmp", file);
  ' "$DEST/updater.json" "$SLOT" || die "$DEST/updater.json: could not record the install in it; remove it and run again"
fi
if [ "$(id -u)" = 0 ] && grep -q '^laned:' "$ROOT/etc/group"; then
  lanedIds="$(grep '^laned:' "$ROOT/etc/passwd" | cut -d: -f3):$(grep '^laned:' "$ROOT/etc/group" | cut -d: -f3)"
  chown -hR "$lanedIds" "$DEST"
fi
say "installed $(sed -nE 's/^  "version": "([^"]+)".*/\1/p' "$slot/package.json" | head -n1) in $slot; $DEST/current -> slots/$SLOT"

# --- 3. commands ---
install -d -m 0755 "$ROOT/usr/local/bin"
if [ "$PAYLOAD" = 1 ]; then
  ln -sfn "$CURRENT/bin/laned" "$ROOT/usr/local/bin/laned"
  ln -sfn "$CURRENT/bin/lanectl" "$ROOT/usr/local/bin/lanectl"
else
  ln -sfn "$CURRENT/dist/daemon/main.js" "$ROOT/usr/local/bin/laned"
  ln -sfn "$CURRENT/dist/daemon/cli/lanectl.js" "$ROOT/usr/local/bin/lanectl"
fi

# --- 4. units, udev, modules, config ---
install -d -m 0755 "$ROOT/etc/systemd/system" "$ROOT/etc/udev/rules.d" "$ROOT/etc/modules-load.d"
# the boot check runs the good slot's node (a payload's), else the node laned runs with
GOOD_NODE=$PREFIX/good/runtime/node
[ "$PAYLOAD" = 1 ] || GOOD_NODE=$NODE
unit_for_prefix() {
  sed -e "s#^ExecStart=/opt/laned/current/runtime/node #ExecStart=$NODE #" \
    -e "s#/opt/laned/good/runtime/node #$GOOD_NODE #g" \
    -e "s#/opt/laned/current/#$CURRENT/#g" \
    -e "s#/opt/laned/good/#$PREFIX/good/#g" \
    -e "s#--root /opt/laned #--root $PREFIX #g" \
    -e "s#^ReadWritePaths=/opt/laned\$#ReadWritePaths=$PREFIX#" \
    "$1"
}
for unit in laned.service laned-rollback.service; do
  unit_for_prefix "$SRC/systemd/$unit" >"$ROOT/etc/systemd/system/$unit"
  chmod 0644 "$ROOT/etc/systemd/system/$unit"
done
install -m 0644 "$SRC/systemd/udev/70-laned.rules" "$ROOT/etc/udev/rules.d/70-laned.rules"
install -m 0644 "$SRC/systemd/modules-load.d/laned.conf" "$ROOT/etc/modules-load.d/laned.conf"
if [ "$KIOSK" = 1 ]; then
  sed -e "s#/opt/laned/current/#$CURRENT/#g" "$SRC/systemd/laned-kiosk.service" >"$ROOT/etc/systemd/system/laned-kiosk.service"
  chmod 0644 "$ROOT/etc/systemd/system/laned-kiosk.service"
  install -d -m 0755 "$ROOT/etc/pam.d"
  install -m 0644 "$SRC/image/kiosk/pam.d-laned-kiosk" "$ROOT/etc/pam.d/laned-kiosk"
fi
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
units=(laned.service)
[ "$KIOSK" = 1 ] && units+=(laned-kiosk.service)
if [ "$ON_BOARD" = 0 ]; then
  # systemctl --root edits the [Install] links only; nothing runs
  systemctl --root="$ROOT" enable "${units[@]}" >/dev/null 2>&1 || say "systemctl --root could not enable ${units[*]}: enable them in the image"
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
systemctl enable "${units[@]}" >/dev/null
if [ "$START" = 1 ]; then
  systemctl restart laned.service
  say "laned started: systemctl status laned; lanectl status"
  [ "$KIOSK" = 1 ] && systemctl restart laned-kiosk.service
else
  say "${units[*]} enabled, not started (--no-start)"
fi
