/**
 * Every error the fleet server answers is `{"error": {"code", "message"}}` with the status of
 * its code: `FleetError` carries both; an Uptane refusal of a manifest is a 400 with its
 * `ERR_TUF_UPTANE_*` code and the attack; Fastify's own refusals (schema validation, body too
 * large, malformed JSON, unsupported media type) are mapped to `ERR_TUF_FLEET_BAD_REQUEST` /
 * `ERR_TUF_FLEET_TOO_LARGE`; anything else is a 500 whose message points at the server log (the
 * details stay there, not in the answer).
 *
 * Pure. Safe for concurrent use.
 *
 * @module
 */
import { FleetError, TufError, UptaneError } from '../../errors.js';

/** The JSON body of an error answer. */
export interface ErrorBody {
  error: { code: string; message: string; attack?: string };
}

/** Status and body for `error`, and whether it is the server's fault (logged as an error). */
export function errorAnswer(error: unknown): {
  status: number;
  body: ErrorBody;
  internal: boolean;
} {
  if (error instanceof FleetError) {
    return {
      status: error.status,
      body: { error: { code: error.code, message: error.message } },
      internal: error.status >= 500,
    };
  }
  if (error instanceof UptaneError) {
    return {
      status: 400,
      body: { error: { code: error.code, message: error.message, attack: error.attack } },
      internal: false,
    };
  }
  const e = error as {
    code?: unknown;
    statusCode?: unknown;
    validation?: unknown;
    message?: unknown;
  };
  const message = typeof e.message === 'string' ? e.message : String(error);
  if (e.validation !== undefined) {
    return bad(400, 'ERR_TUF_FLEET_BAD_REQUEST', `invalid request: ${message}`);
  }
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || e.statusCode === 413) {
    return bad(413, 'ERR_TUF_FLEET_TOO_LARGE', `request body too large: ${message}`);
  }
  if (typeof e.code === 'string' && e.code.startsWith('FST_ERR_CTP_')) {
    // Malformed JSON, an empty JSON body, an unsupported content type.
    return bad(400, 'ERR_TUF_FLEET_BAD_REQUEST', message);
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return bad(e.statusCode, 'ERR_TUF_FLEET_BAD_REQUEST', message);
  }
  if (error instanceof TufError && error.code === 'ERR_TUF_INVALID_STATE') {
    return bad(409, 'ERR_TUF_FLEET_CONFLICT', message);
  }
  return {
    status: 500,
    body: {
      error: {
        code: 'ERR_TUF_FLEET_INTERNAL',
        message: 'the server failed to answer this request; its log has the details',
      },
    },
    internal: true,
  };
}

function bad(
  status: number,
  code: string,
  message: string,
): { status: number; body: ErrorBody; internal: boolean } {
  return { status, body: { error: { code, message } }, internal: false };
}
