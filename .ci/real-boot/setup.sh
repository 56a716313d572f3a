#!/bin/bash
# Prepare the real-boot tests (spec/device/real-boot/): install the Debian 12 packages they drive
# and build, once, the U-Boot they boot under QEMU. The build is cached under
#   ${TUFOTA_REAL_BOOT_CACHE:-$HOME/.cache/tufota-real-boot}/uboot-<key>/u-boot.bin
# where <key> hashes the recipe (uboot/build-uboot.sh + uboot/mmc-redund.config), so a changed
# recipe rebuilds and an unchanged one costs nothing.
#
#   setup.sh            install what is missing, build on a cache miss, print the build's folder
#   setup.sh --locate   print the cached build's folder (exit 1 if there is none); no apt, no build
#
# Recipe "B" of the tufota research notes (research/uboot-qemu.md, 2026-11-22): U-Boot 2023.01
# from Debian's own source with CONFIG_BOOTCOUNT_LIMIT + CONFIG_BOOTCOUNT_ENV and a redundant
# environment on an SD card; Debian 12's own QEMU 7.2 runs it (its pflash breaks U-Boot's
# saveenv, which is why the environment is not on NOR flash here).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache_root=${TUFOTA_REAL_BOOT_CACHE:-${HOME:-/root}/.cache/tufota-real-boot}
key=$(cat "$here/uboot/build-uboot.sh" "$here/uboot/mmc-redund.config" | sha256sum | cut -c1-16)
dest=$cache_root/uboot-$key

if [ "${1:-}" = --locate ]; then
  [ -s "$dest/u-boot.bin" ] && { echo "$dest"; exit 0; }
  exit 1
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive
t0=$(date +%s)

# What the tests run (tool -> Debian 12 package), and what building U-Boot needs.
run_tools=(qemu-system-aarch64:qemu-system-arm qemu-system-x86_64:qemu-system-x86
  fw_setenv:libubootenv-tool mkenvimage:u-boot-tools mkimage:u-boot-tools
  grub-editenv:grub-common grub-mkimage:grub-common mcopy:mtools)
need=()
for pair in "${run_tools[@]}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
# Firmware and GRUB's BIOS modules are files, not commands.
[ -f /usr/share/seabios/bios-256k.bin ] || need+=(seabios)
[ -x /usr/sbin/mkfs.vfat ] || need+=(dosfstools)
[ -f /usr/lib/grub/i386-pc/boot.img ] || need+=(grub-pc-bin)
build_deps=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross bison flex bc make libssl-dev libgnutls28-dev
  device-tree-compiler python3-dev python3-setuptools swig dpkg-dev)
if [ ! -s "$dest/u-boot.bin" ]; then
  for pkg in "${build_deps[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || need+=("$pkg")
  done
fi

updated=
apt_update() { [ -n "$updated" ] || { as_root apt-get update -qq; updated=1; }; }
if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  echo "real-boot setup: apt-get install ${need[*]}"
  apt_update
  as_root apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
t1=$(date +%s)

if [ ! -s "$dest/u-boot.bin" ]; then
  # apt-get source needs a deb-src line; add one for bookworm next to the existing deb lines.
  if ! apt-cache showsrc u-boot 2>/dev/null | grep -q '^Version: 2023.01'; then
    echo "real-boot setup: adding deb-src for bookworm (/etc/apt/sources.list.d/tufota-real-boot-src.sources)"
    as_root tee /etc/apt/sources.list.d/tufota-real-boot-src.sources >/dev/null <<'SRC'
# Added by tufota .ci/real-boot/setup.sh: `apt-get source u-boot` for the real-boot tests.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    updated=
    apt_update
  fi
  mkdir -p "$cache_root"
  work=$(mktemp -d "$cache_root/.build-$key.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  echo "real-boot setup: building U-Boot (cache miss, key $key)"
  "$here/uboot/build-uboot.sh" "$work" > "$work.log" 2>&1 || { tail -40 "$work.log"; rm -f "$work.log"; exit 1; }
  rm -f "$work.log"
  du -sh "$work" | sed 's/^/real-boot setup: source + build tree /'
  mkdir -p "$work/out"
  cp "$work/u-boot.bin" "$work/u-boot.config" "$work/u-boot.version" "$here/uboot/mmc-redund.config" "$work/out/"
  rm -rf "$dest"
  mv "$work/out" "$dest"   # same filesystem: the cache entry appears complete or not at all
fi
t2=$(date +%s)
echo "real-boot setup: apt $((t1 - t0)) s, U-Boot $((t2 - t1)) s, cache $(du -sh "$dest" | cut -f1) at $dest" >&2
echo "$dest"
