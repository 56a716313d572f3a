/**
 * Boot-slot adapters: the implementations of `SlotController` (`device/slot-controller.ts`) for
 * U-Boot environments (`fw_printenv`/`fw_setenv`, Mender- or RAUC-style), GRUB environment blocks
 * (`grub-editenv`, RAUC-style) and file-backed slots with a JSON environment, plus the
 * `BootSimulator` that plays the bootloader in tests and demos.
 *
 * @module
 */
export {
  type BootabilityCheck,
  BootSimulator,
  type BootSimulatorOptions,
  imageStartsWith,
  type SimulatedBoot,
} from './boot-simulator.js';
export {
  type BootEvidenceOptions,
  DEFAULT_CMDLINE_PATH,
  DEFAULT_MOUNTINFO_PATH,
  mountedRootDevice,
  parseKernelCmdline,
  readBootedSlot,
  rootMountSource,
} from './booted-slot.js';
export {
  CANARY_CMDLINE_PARAM,
  CANARY_SEQ_VARIABLE,
  CANARY_WRITER_VARIABLE,
  DEFAULT_BOOT_ID_PATH,
  EnvCanary,
  type EnvCanaryOptions,
} from './env-canary.js';
export {
  EnvSlotController,
  type EnvSlotControllerOptions,
  type EnvStore,
  type SimulationHandle,
  type SlotEvidenceOptions,
} from './env-controller.js';
export {
  type BootedState,
  type BootStep,
  type EnvChange,
  type EnvProfile,
  type EnvVars,
  type MenderProfileOptions,
  menderProfile,
  type RaucGrubProfileOptions,
  type RaucUbootProfileOptions,
  raucGrubProfile,
  raucUbootProfile,
} from './env-profiles.js';
export {
  DEFAULT_TOOL_MAX_OUTPUT,
  DEFAULT_TOOL_TIMEOUT_MS,
  formatCommand,
  type RunToolOptions,
  runTool,
  type ToolResult,
  type ToolRunner,
} from './exec.js';
export {
  FileEnvStore,
  type FileInitEnvOptions,
  FileSlotController,
  type FileSlotControllerOptions,
  parseFileEnv,
} from './file-slot.js';
export {
  GRUBENV_SIZE,
  GrubEnvSlotController,
  type GrubEnvSlotControllerOptions,
  GrubEnvStore,
  type GrubToolOptions,
} from './grub-env.js';
export {
  DEFAULT_FW_ENV_CONFIG,
  type FwEnvCopy,
  parseFwEnvConfig,
  UbootEnvSlotController,
  type UbootEnvSlotControllerOptions,
  UbootEnvStore,
  type UbootInitEnvOptions,
  type UbootToolOptions,
} from './uboot-env.js';
