import { after, before } from 'node:test';
import type { KubeClient } from '../../src/k8s/client.js';
import { type ControlPlane, type ControlPlaneOptions, startControlPlane } from '../cluster/control-plane.js';
import { clientFor } from './kube.js';

export interface ControlPlaneFixture {
  readonly plane: ControlPlane;
  readonly admin: KubeClient;
  /** Runs a test body; on failure prints the tail of every component's log, then rethrows. */
  run(body: () => Promise<void>): () => Promise<void>;
}

/** Starts one real control plane for the test file (in `before`) and stops it in `after`, even on failure. */
export function useControlPlane(options: ControlPlaneOptions = {}): ControlPlaneFixture {
  let plane: ControlPlane | undefined;
  let admin: KubeClient | undefined;
  before(async () => {
    plane = await startControlPlane(options);
    admin = clientFor(plane.kubeconfigPath);
  });
  after(async () => {
    admin?.close();
    await plane?.stop();
  });
  const fixture: ControlPlaneFixture = {
    get plane() {
      if (!plane) throw new Error('control plane not started');
      return plane;
    },
    get admin() {
      if (!admin) throw new Error('control plane not started');
      return admin;
    },
    run: (body) => async () => {
      try {
        await body();
      } catch (err) {
        if (plane) process.stderr.write(`\n--- control plane logs (last lines) ---\n${plane.tails(30)}\n`);
        throw err;
      }
    },
  };
  return fixture;
}
