#!/bin/bash -e
# pi-gen (inside the image): the OS services the board relies on, and the initramfs
# with the overlayroot hook for the read-only root.
systemctl enable ssh.service systemd-timesyncd.service fake-hwclock.service
# the first boot's root resize stays off (rootfs.sh); its service too, where it exists
systemctl disable rpi-resize.service 2>/dev/null || true
update-initramfs -u -k all
