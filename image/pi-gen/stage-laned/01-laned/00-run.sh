#!/bin/bash -e
# pi-gen (on the build host): unpack the arm64 payload from files/ and lay laned and the
# board settings into the image with the payload's own image/pi-gen/rootfs.sh.
shopt -s nullglob
payloads=(files/laned-*-arm64.tar.gz)
if [ "${#payloads[@]}" -ne 1 ]; then
	echo "stage-laned: put exactly one payload in $(pwd)/files (npm run payload -- --arch arm64), found ${#payloads[@]}" >&2
	exit 1
fi
work="${STAGE_WORK_DIR}/laned-payload"
rm -rf "${work}"
mkdir -p "${work}"
tar -xzf "${payloads[0]}" -C "${work}"
payload=$(find "${work}" -mindepth 1 -maxdepth 1 -type d)
grep -q '"arch": "arm64"' "${payload}/payload.json" || { echo "stage-laned: ${payloads[0]} is not an arm64 payload" >&2; exit 1; }
(cd "${payload}" && sha256sum --quiet -c SHA256SUMS) || { echo "stage-laned: ${payloads[0]}: files differ from its SHA256SUMS" >&2; exit 1; }
bash "${payload}/image/pi-gen/rootfs.sh" --root "${ROOTFS_DIR}"
