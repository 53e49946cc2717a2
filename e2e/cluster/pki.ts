/**
 * The few credentials a test kube-apiserver needs. Its serving certificate is not made here: the
 * apiserver self-signs one into `certDir` at startup, and `caPath` names that file.
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface Pki {
  /** PKCS#8 PEM RSA key that signs and verifies ServiceAccount tokens. */
  serviceAccountKeyPath: string;
  /** Static token file (`token,user,uid,"groups"`) holding the admin token. */
  tokensPath: string;
  adminToken: string;
  /** `--cert-dir` of the apiserver. */
  certDir: string;
  /** The self-signed serving certificate (plus its CA) the apiserver writes; exists once it started. */
  caPath: string;
}

const generateKeyPairAsync = promisify(generateKeyPair);

export async function writePki(dir: string): Promise<Pki> {
  const certDir = join(dir, 'pki');
  await mkdir(certDir, { recursive: true, mode: 0o700 });
  const { privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const serviceAccountKeyPath = join(certDir, 'service-account.key');
  await writeFile(serviceAccountKeyPath, privateKey, { mode: 0o600 });

  const adminToken = randomBytes(24).toString('hex');
  const tokensPath = join(certDir, 'tokens.csv');
  await writeFile(tokensPath, `${adminToken},admin,admin,system:masters\n`, { mode: 0o600 });

  return { serviceAccountKeyPath, tokensPath, adminToken, certDir, caPath: join(certDir, 'apiserver.crt') };
}
