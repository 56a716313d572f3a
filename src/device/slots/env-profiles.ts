/**
 * The boot-environment protocols, as pure functions over variables: Mender-style U-Boot
 * (`boot_part`, `upgrade_available`, `bootcount`, `bootlimit`), RAUC-style U-Boot (`BOOT_ORDER`,
 * `BOOT_<x>_LEFT`) and RAUC-style GRUB (`ORDER`, `<x>_OK`, `<x>_TRY`).
 *
 * One module per protocol (`mender-profile.ts`, `rauc-uboot-profile.ts`, `rauc-grub-profile.ts`);
 * the contract they implement and the variable rules they share are in `env-profile.ts`. This
 * module gathers them, so the controllers and users import every profile from one place.
 *
 * No I/O. Safe for concurrent use.
 *
 * @module
 */
export {
  assertVariableName,
  assertVariableValue,
  type BootedState,
  type BootStep,
  type EnvChange,
  type EnvProfile,
  type EnvVars,
} from './env-profile.js';
export { type MenderProfileOptions, menderProfile } from './mender-profile.js';
export { type RaucGrubProfileOptions, raucGrubProfile } from './rauc-grub-profile.js';
export { type RaucUbootProfileOptions, raucUbootProfile } from './rauc-uboot-profile.js';
