#!/bin/bash
# Build the qemu_arm64 U-Boot the real-boot tests judge with, from Debian bookworm's own u-boot
# source package plus uboot/mmc-redund.config and one line of source change (below).
#   usage: build-uboot.sh OUTDIR        (~30-60 s of compiling on 2 cores)
# Needs a deb-src line for bookworm and the build dependencies setup.sh installs.
# Adapted from the tufota research notes (research/uboot-qemu/build-uboot.sh, 2026-11-22).
# U-Boot is GPL-2.0-or-later: the source version, this fragment and the patch are the
# corresponding source of the binary this produces.
set -euo pipefail
UBOOT_SRC_VERSION=2023.01+dfsg-2+deb12u3
out=$(realpath -m "$1")
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/src"
cd "$out/src"
if [ ! -d u-boot-2023.01+dfsg ]; then
  timeout 600 apt-get source --download-only "u-boot=$UBOOT_SRC_VERSION" >/dev/null
  # unpack without applying anything but Debian's own patches (dpkg-source -x does both)
  timeout 300 dpkg-source -x u-boot_*.dsc u-boot-2023.01+dfsg >/dev/null
fi
cd u-boot-2023.01+dfsg
if ! grep -q SYS_EARLY_PCI_INIT include/configs/qemu-arm.h; then
  # Enumerate PCI before the environment is loaded, so the sdhci-pci card exists by then
  # (otherwise: "MMC Device 0 not found ... using default environment").
  sed -i 's|^#define CONFIG_SYS_SDRAM_BASE.*|&\n#define CONFIG_SYS_EARLY_PCI_INIT|' include/configs/qemu-arm.h
fi
build=$out/build
make -s O="$build" CROSS_COMPILE=aarch64-linux-gnu- qemu_arm64_defconfig
cat "$here/mmc-redund.config" >> "$build/.config"
make -s O="$build" CROSS_COMPILE=aarch64-linux-gnu- olddefconfig
for option in CONFIG_SYS_REDUNDAND_ENVIRONMENT=y CONFIG_BOOTCOUNT_LIMIT=y CONFIG_BOOTCOUNT_ENV=y CONFIG_ENV_IS_IN_MMC=y; do
  grep -qx "$option" "$build/.config" || { echo "build-uboot: $option did not survive olddefconfig" >&2; exit 1; }
done
timeout 1800 make -s O="$build" CROSS_COMPILE=aarch64-linux-gnu- -j"$(nproc)" u-boot.bin
cp "$build/u-boot.bin" "$out/u-boot.bin"
cp "$build/.config" "$out/u-boot.config"
echo "$UBOOT_SRC_VERSION" > "$out/u-boot.version"
