/**
 * JSON schemas shared by the fleet server's routes. Every object is closed
 * (`additionalProperties: false`) and every string and array bounded, so validation refuses
 * surprises before any handler runs.
 *
 * Pure data. Safe for concurrent use.
 *
 * @module
 */

/** A device, user or ECU identifier: printable, no `/`, at most 128 characters. */
export const ID = {
  type: 'string',
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._:@-]*$',
} as const;

/** A free text of at most `n` characters. */
export function text(n: number) {
  return { type: 'string', maxLength: n } as const;
}

/** An ISO 8601 UTC time. */
export const TIME = {
  type: 'string',
  maxLength: 40,
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})$',
} as const;

/** A TUF public key (`{keytype, scheme, keyval: {public}}`). */
export const PUBLIC_KEY = {
  type: 'object',
  additionalProperties: false,
  required: ['keytype', 'scheme', 'keyval'],
  properties: {
    keytype: { type: 'string', minLength: 1, maxLength: 32 },
    scheme: { type: 'string', minLength: 1, maxLength: 64 },
    keyval: {
      type: 'object',
      additionalProperties: false,
      required: ['public'],
      properties: { public: { type: 'string', minLength: 1, maxLength: 4096 } },
    },
  },
} as const;

/** Device attributes: at most 64 keys, each value at most 256 characters. */
export const ATTRIBUTES = {
  type: 'object',
  maxProperties: 64,
  propertyNames: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' },
  additionalProperties: { type: 'string', maxLength: 256 },
} as const;

/** One ECU as a device registers it. */
export const ECU = {
  type: 'object',
  additionalProperties: false,
  required: ['ecuSerial', 'hardwareId', 'publicKey'],
  properties: {
    ecuSerial: ID,
    hardwareId: ID,
    primary: { type: 'boolean' },
    publicKey: PUBLIC_KEY,
    /** The image the factory flashed (a target path of the image repository). */
    installedTarget: { type: 'string', minLength: 1, maxLength: 1024 },
  },
} as const;

/** A correlation (update) id. */
export const CORRELATION_ID = { type: 'string', minLength: 1, maxLength: 128 } as const;

/** A target path in the image repository. */
export const TARGET_PATH = { type: 'string', minLength: 1, maxLength: 1024 } as const;

/** Query of list endpoints with cursor pagination. */
export const PAGE_QUERY_PROPERTIES = {
  limit: { type: 'integer', minimum: 1, maximum: 1000 },
  cursor: { type: 'string', minLength: 1, maxLength: 512 },
} as const;

/** Params `{id}` of a device path. */
export const DEVICE_PARAMS = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: ID },
} as const;
