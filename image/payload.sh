#!/bin/bash
# Build a self-contained laned payload for one CPU: what a board's slot holds.
#
#   npm run payload -- --arch arm64|x64 [--out DIR]
#
# The payload (image/README.md, "The payload") is a folder and a .tar.gz of it:
#   dist/ ui-static/ systemd/ image/ package*.json README.md  the built laned
#   node_modules/        production dependencies; the native addons (sqlite3,
#                        @serialport/bindings-cpp, i2c-bus, epoll) built by node-gyp
#                        for the target against the headers of the Node shipped
#   runtime/node         the Node.js binary for the target (npm: node-linux-<arch>,
#                        version and integrity pinned in image/node-runtime.json)
#   bin/laned bin/lanectl  start them on runtime/node
#   payload.json         version, arch, Node version, addon ABI, the addons
#   SHA256SUMS           every other file with its sha256 (sha256sum -c SHA256SUMS)
#
# Nothing comes from anywhere but the npm registry (or npm's cache) and this
# checkout: node-gyp is given the runtime's headers (--nodedir) and never downloads.
# arm64 is cross-compiled with Debian's aarch64-linux-gnu-gcc/g++.
#
# Options:
#   --arch arm64|x64    target CPU (required)
#   --out DIR           where the payload goes (default: build/payload); the folder
#                       is DIR/laned-<version>-<arch>, the tarball next to it
#   --no-tar            the folder only
#   -h, --help          this text
# Environment: JOBS (compile jobs, default 1), SOURCE_DATE_EPOCH (tar mtimes;
# default the last commit's time), LANED_BUILD_CACHE (where built addons are kept
# for the next build, default ~/.cache/laned; an addon is reused only when its
# package version, the target, the Node headers, the compiler and this script are
# all the same; LANED_BUILD_CACHE=off builds every time).
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ARCH=
OUT=$SRC/build/payload
TAR=1
NATIVE=(sqlite3 @serialport/bindings-cpp i2c-bus epoll)

say() { printf 'payload: %s\n' "$*" >&2; }
die() {
  printf 'payload: %s\n' "$*" >&2
  exit 1
}
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --arch) ARCH=${2:?--arch needs arm64 or x64}; shift 2 ;;
    --out) OUT=${2:?--out needs a directory}; shift 2 ;;
    --no-tar) TAR=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
done
case "$ARCH" in
  arm64) ELF='ARM aarch64'; CROSS=aarch64-linux-gnu- ;;
  x64) ELF='x86-64'; CROSS= ;;
  '') usage >&2; die "--arch is required: arm64 or x64" ;;
  *) die "--arch $ARCH: use arm64 or x64" ;;
esac
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# --- checks: before anything is built ---
[ -f "$SRC/dist/daemon/main.js" ] || die "$SRC/dist/daemon/main.js missing: run npm ci && npm run build first"
GYP=$SRC/node_modules/node-gyp/bin/node-gyp.js
[ -f "$GYP" ] || die "$GYP missing: run npm ci first"
for tool in file sha256sum tar "${CROSS}gcc" "${CROSS}g++" make python3; do
  command -v "$tool" >/dev/null || die "$tool not found: apt-get install file make python3 $([ -n "$CROSS" ] && echo gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-arm64-cross libstdc++6-arm64-cross || echo gcc g++)"
done
pin() { node -p "const r = require('$SRC/image/node-runtime.json'); $1"; }
NODE_VERSION=$(pin 'r.version')
NODE_PKG=$(pin "r['$ARCH'].package")
NODE_INTEGRITY=$(pin "r['$ARCH'].integrity")
VERSION=$(node -p "require('$SRC/package.json').version")
NAME=laned-$VERSION-$ARCH
DEST=$OUT/$NAME
: "${SOURCE_DATE_EPOCH:=$(git -C "$SRC" log -1 --format=%ct 2>/dev/null || echo 0)}"
export SOURCE_DATE_EPOCH

# --- 1. the Node runtime for the target, from the npm registry, checked ---
cache=$OUT/.cache
mkdir -p "$cache"
tgz=$cache/$NODE_PKG-$NODE_VERSION.tgz
if [ ! -f "$tgz" ]; then
  say "fetching $NODE_PKG@$NODE_VERSION (npm pack)"
  (cd "$cache" && npm pack "$NODE_PKG@$NODE_VERSION" --silent >/dev/null) || die "npm pack $NODE_PKG@$NODE_VERSION failed: is the npm registry (or npm's cache) reachable?"
fi
got=$(node -e 'process.stdout.write("sha512-" + require("node:crypto").createHash("sha512").update(require("node:fs").readFileSync(process.argv[1])).digest("base64"))' "$tgz")
[ "$got" = "$NODE_INTEGRITY" ] || die "$tgz: integrity $got is not the pinned $NODE_INTEGRITY (image/node-runtime.json)"
nodedir=$cache/$NODE_PKG-$NODE_VERSION
if [ ! -f "$nodedir/include/node/node_version.h" ]; then
  rm -rf "$nodedir" && mkdir -p "$nodedir"
  tar -xzf "$tgz" -C "$nodedir" --strip-components=1
fi
file -b "$nodedir/bin/node" | grep -q "$ELF" || die "$nodedir/bin/node is not $ELF: $(file -b "$nodedir/bin/node")"
hdr() { sed -nE "s/^#define $1 ([0-9]+).*/\\1/p" "$nodedir/include/node/node_version.h" | head -n1; }
ABI=$(hdr NODE_MODULE_VERSION)
NAPI=$(hdr NAPI_VERSION)
[ "$(hdr NODE_MAJOR_VERSION).$(hdr NODE_MINOR_VERSION).$(hdr NODE_PATCH_VERSION)" = "$NODE_VERSION" ] || die "$nodedir: headers are not Node $NODE_VERSION"

# --- 2. laned and its production dependencies, staged ---
stage=$DEST.new
rm -rf "$stage"
mkdir -p "$stage/runtime" "$stage/bin"
cp -a "$SRC/dist" "$SRC/ui-static" "$SRC/systemd" "$SRC/image" "$SRC/package.json" "$SRC/package-lock.json" "$SRC/README.md" "$stage/"
rm -rf "$stage/dist/test" "$stage/image/bin"
cp -a "$SRC/image/bin/laned" "$SRC/image/bin/lanectl" "$stage/bin/"
install -m 0755 "$nodedir/bin/node" "$stage/runtime/node"
install -m 0644 "$nodedir/LICENSE" "$stage/runtime/LICENSE"
say "npm ci --omit=dev (registry or npm's cache)"
(cd "$stage" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci --omit=dev in $stage failed"

# --- 3. native addons for the target, against the shipped Node's headers ---
gyp_env=(JOBS="${JOBS:-1}")
if [ -n "$CROSS" ]; then
  gyp_env+=(CC="${CROSS}gcc" CXX="${CROSS}g++" LINK="${CROSS}g++" AR="${CROSS}ar" CC_host=gcc CXX_host=g++ LINK_host=g++)
fi
CACHE=${LANED_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/laned}
toolchain=$("${CROSS}g++" --version | head -n1)
script_sum=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)
for mod in "${NATIVE[@]}"; do
  dir=$stage/node_modules/$mod
  [ -f "$dir/binding.gyp" ] || die "$dir/binding.gyp missing: is $mod still a dependency?"
  # prebuilt binaries from the package would be loaded instead of ours on some CPUs
  rm -rf "$dir/prebuilds" "$dir/build"
  modver=$(node -p "require('$dir/package.json').version")
  key=$(printf '%s\n' "$mod@$modver" "$ARCH" "$NODE_VERSION" "$toolchain" "$script_sum" | sha256sum | cut -c1-32)
  cached=$CACHE/addons/$key
  if [ "$CACHE" != off ] && [ -d "$cached/Release" ]; then
    say "$mod $modver for $ARCH: built before with the same headers, compiler and script ($cached)"
    mkdir -p "$dir/build" && cp -a "$cached/Release" "$dir/build/"
    continue
  fi
  say "building $mod $modver for $ARCH (node-gyp, Node $NODE_VERSION headers)"
  (cd "$dir" && env "${gyp_env[@]}" node "$GYP" rebuild --release --arch="$ARCH" --nodedir="$nodedir" --jobs="${JOBS:-1}" >"$OUT/$NAME.$(basename "$mod").gyp.log" 2>&1) ||
    die "node-gyp could not build $mod for $ARCH: see $OUT/$NAME.$(basename "$mod").gyp.log"
  # keep the addon itself, not the objects and makefiles
  find "$dir/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
  find "$dir/build/Release" -mindepth 1 ! -name '*.node' -exec rm -rf {} +
  if [ "$CACHE" != off ] && mkdir -p "$CACHE/addons" 2>/dev/null; then
    tmp=$(mktemp -d -p "$CACHE/addons") && cp -a "$dir/build/Release" "$tmp/" && { mv -T "$tmp" "$cached" 2>/dev/null || rm -rf "$tmp"; }
  fi
done
bad=$(find "$stage" -name '*.node' -type f -exec file {} + | grep -v "ELF 64-bit LSB .*$ELF" || true)
[ -z "$bad" ] || die "native addons not built for $ARCH: $bad"

# --- 4. what it is: payload.json and SHA256SUMS ---
addons=$(cd "$stage" && find . -name '*.node' -type f | sed 's#^\./##' | LC_ALL=C sort)
sums=$(cd "$stage" && find . -type f ! -name SHA256SUMS ! -name payload.json | sed 's#^\./##' | LC_ALL=C sort | xargs -d '\n' sha256sum)
printf '%s\n' "$sums" >"$stage/SHA256SUMS"
# shellcheck disable=SC2016 # JavaScript template literals, not shell
ADDONS=$addons NAME=$NAME VERSION=$VERSION ARCH=$ARCH NODE_VERSION=$NODE_VERSION NODE_PKG=$NODE_PKG NODE_INTEGRITY=$NODE_INTEGRITY ABI=$ABI NAPI=$NAPI STAGE=$stage \
  COMMIT=$(git -C "$SRC" rev-parse HEAD 2>/dev/null || echo unknown) node -e '
  const { createHash } = require("node:crypto");
  const { readFileSync, writeFileSync } = require("node:fs");
  const e = process.env;
  const sha = (f) => createHash("sha256").update(readFileSync(`${e.STAGE}/${f}`)).digest("hex");
  const manifest = {
    name: e.NAME, version: e.VERSION, arch: e.ARCH, commit: e.COMMIT,
    sourceDateEpoch: Number(e.SOURCE_DATE_EPOCH),
    node: { version: e.NODE_VERSION, package: e.NODE_PKG, integrity: e.NODE_INTEGRITY, path: "runtime/node", modules: Number(e.ABI), napi: Number(e.NAPI) },
    addons: e.ADDONS.split("\n").filter(Boolean).map((path) => ({ path, sha256: sha(path) })),
    files: { list: "SHA256SUMS", sha256: sha("SHA256SUMS") },
  };
  writeFileSync(`${e.STAGE}/payload.json`, JSON.stringify(manifest, null, 2) + "\n");
'
rm -rf "$DEST"
mv "$stage" "$DEST"
say "payload in $DEST ($(du -sh "$DEST" | cut -f1), Node $NODE_VERSION, modules ABI $ABI, N-API $NAPI, $(wc -l <<<"$addons") addons)"

# --- 5. the tarball: same input, same bytes ---
if [ "$TAR" = 1 ]; then
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" -C "$OUT" -cf - "$NAME" | gzip -n >"$DEST.tar.gz"
  say "tarball $DEST.tar.gz ($(du -h "$DEST.tar.gz" | cut -f1))"
fi
echo "$DEST"
