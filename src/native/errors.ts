import { constants } from 'node:os';

/** A failed system call, shaped like Node's own: code 'EPERM', syscall 'socket'. */
export interface SystemError extends Error {
  readonly code: string;
  readonly errno?: number;
  readonly syscall?: string;
}

export function isSystemError(error: unknown): error is SystemError {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string';
}

/** Builds a SystemError as the native addon would (for the fake and for wrappers). */
export function systemError(code: string, syscall: string, detail?: string): SystemError {
  const errno = (constants.errno as Record<string, number | undefined>)[code];
  const error = new Error(`${syscall} ${code}${detail ? ` ${detail}` : ''}`) as Error & {
    code: string;
    errno?: number;
    syscall: string;
  };
  error.code = code;
  if (errno !== undefined) error.errno = -errno;
  error.syscall = syscall;
  return error;
}

export type Capability = 'CAP_NET_RAW' | 'CAP_NET_BIND_SERVICE';

/** A privileged operation refused for lack of a capability; the message is one line for the user. */
export class MissingCapabilityError extends Error {
  override readonly name = 'MissingCapabilityError';
  readonly code: string;

  constructor(
    readonly action: string,
    readonly capability: Capability,
    options?: { cause?: SystemError },
  ) {
    super(`${action} needs ${capability} (run the speaker with that capability)`, options);
    this.code = options?.cause?.code ?? 'EPERM';
  }
}

/** EPERM / EACCES become a MissingCapabilityError for `action`; anything else is returned as is. */
export function asCapabilityError(error: unknown, action: string, capability: Capability): unknown {
  if (isSystemError(error) && (error.code === 'EPERM' || error.code === 'EACCES')) {
    return new MissingCapabilityError(action, capability, { cause: error });
  }
  return error;
}

/** Runs `open`, turning a permission failure into a MissingCapabilityError for `action`. */
export function needing<T>(action: string, capability: Capability, open: () => T): T {
  try {
    return open();
  } catch (error) {
    throw asCapabilityError(error, action, capability);
  }
}

/** A TCP/UDP socket setup failure: bind EACCES (a port below 1024) or SO_BINDTODEVICE EPERM. */
export function socketSetupError(
  error: unknown,
  protocol: 'TCP' | 'UDP',
  local: { address?: string; port?: number; bindDevice?: string },
): unknown {
  if ((error as { syscall?: unknown }).syscall === 'bind') {
    const where = `${protocol} port ${local.port ?? 0} of ${local.address ?? 'any address'}`;
    return asCapabilityError(error, `binding ${where}`, 'CAP_NET_BIND_SERVICE');
  }
  if (local.bindDevice === undefined) return error;
  return asCapabilityError(error, `binding a ${protocol} socket to ${local.bindDevice}`, 'CAP_NET_RAW');
}
