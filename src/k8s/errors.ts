/** Errors a user can cause talking to Kubernetes, each rendered as one line that says what to fix. */

/** The kubeconfig could not be found or used. The CLI exits with code 2 on it. */
export class KubeconfigError extends Error {
  override readonly name = 'KubeconfigError';
}

/** The API server could not be reached, or its identity could not be verified. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  constructor(
    message: string,
    readonly code: string | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A `metav1.Status` failure returned by the API server. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof ApiError && e.code === 404;
export const isConflict = (e: unknown): boolean => e instanceof ApiError && e.code === 409;
export const isAlreadyExists = (e: unknown): boolean => e instanceof ApiError && e.reason === 'AlreadyExists';
export const isForbidden = (e: unknown): boolean => e instanceof ApiError && e.code === 403;
/** 410 Gone / Expired: a resourceVersion too old to list or watch from. */
export const isGone = (e: unknown): boolean =>
  e instanceof ApiError && (e.code === 410 || e.reason === 'Expired' || e.reason === 'Gone');

const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
]);

/** Turns a socket or TLS failure into a one-line ConnectionError naming the server and the fix. */
export function describeConnectionError(err: unknown, server: string): ConnectionError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const text = ((err as Error | undefined)?.message ?? String(err)).replace(/\s*\n\s*/g, ' ').trim();
  let message: string;
  if (code && TLS_TRUST_CODES.has(code)) {
    message = `the API server at ${server} presented a certificate that the kubeconfig's certificate-authority does not trust (${code})`;
  } else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    message = `the API server at ${server} presented a certificate for another name: ${text}`;
  } else if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    message = `the API server at ${server} presented a certificate that is not valid now (${code})`;
  } else if (code === 'ECONNREFUSED') {
    message = `cannot reach the API server at ${server}: connection refused (is it running, and is the address right?)`;
  } else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    message = `cannot reach the API server at ${server}: its host name does not resolve`;
  } else if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    message = `cannot reach the API server at ${server}: no route to host`;
  } else if (code === 'ETIMEDOUT' || code === 'ECONNRESET' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    message = `cannot reach the API server at ${server}: ${code === 'ECONNRESET' ? 'connection reset' : 'timed out'}`;
  } else {
    message = `cannot talk to the API server at ${server}: ${text}`;
  }
  return new ConnectionError(message, code, { cause: err });
}

/** One line for any error, for logs and CLI output. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
