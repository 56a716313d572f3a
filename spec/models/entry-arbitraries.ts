/** Arbitraries shared by the model specs that check entry readers against the spec's rules. */
import fc from 'fast-check';

/** A lower-case hex digest of 1 to 64 digits. */
export const hexDigest = fc.stringMatching(/^[0-9a-f]{1,64}$/);

/** A JSON value of any type, none of which is a valid field of an entry by itself. */
export const anyValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -3, max: 3 }),
  fc.double(),
  fc.string({ maxLength: 4 }),
  fc.constant([]),
  fc.constant({}),
);
