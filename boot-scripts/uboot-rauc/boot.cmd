# tufota: RAUC-style A/B selection for U-Boot (UbootEnvSlotController, profile 'uboot-rauc').
# Build: mkimage -A arm64 -O linux -T script -C none -n tufota-ab -d boot.cmd boot.scr
# Needs CONFIG_CMD_SETEXPR. The counters reset to 3 below must equal the profile's maxTries.
# Board-specific, adapt: the root devices, partitions, console, kernel/fdt names and boot command.
# Keep the "tufota: booting slot" line: it shows on the console which slot U-Boot chose. Keep
# tufota.envseq=: it tells the agent which environment U-Boot loaded (`envCanary: true`).
test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"
test -n "${BOOT_A_LEFT}" || setenv BOOT_A_LEFT 3
test -n "${BOOT_B_LEFT}" || setenv BOOT_B_LEFT 3

setenv slot_root
for BOOT_SLOT in "${BOOT_ORDER}"; do
  if test -n "${slot_root}"; then
    echo "skipping slot ${BOOT_SLOT}: slot ${slot_name} was chosen"
  elif test "x${BOOT_SLOT}" = "xA"; then
    if test ${BOOT_A_LEFT} -gt 0; then
      setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1
      setenv slot_root /dev/mmcblk0p2; setenv slot_part 2; setenv slot_name A
    fi
  elif test "x${BOOT_SLOT}" = "xB"; then
    if test ${BOOT_B_LEFT} -gt 0; then
      setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1
      setenv slot_root /dev/mmcblk0p3; setenv slot_part 3; setenv slot_name B
    fi
  fi
done

if test -n "${slot_root}"; then
  saveenv
else
  echo "tufota: no slot has attempts left: resetting the counters"
  setenv BOOT_A_LEFT 3
  setenv BOOT_B_LEFT 3
  saveenv
  reset
fi

setenv bootargs "console=ttymxc0,115200 root=${slot_root} rootwait ro panic=10 rauc.slot=${slot_name} tufota.envseq=${tufota_env_seq}"
echo "tufota: booting slot ${slot_name}: ${bootargs}"
load mmc 0:${slot_part} ${kernel_addr_r} /boot/zImage
load mmc 0:${slot_part} ${fdt_addr_r} /boot/${fdtfile}
bootz ${kernel_addr_r} - ${fdt_addr_r}
echo "tufota: slot ${slot_name} did not load"
reset
