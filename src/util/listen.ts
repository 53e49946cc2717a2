import type { Server } from 'node:net';

/** Starts `server` listening and resolves once it does; a failure to bind (EADDRINUSE…) rejects. */
export function listen(server: Server, port: number, host = '0.0.0.0'): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
