/**
 * Watches the Services of one namespace (with the repo's Informer) and records, for each, when it first
 * showed an address in status.loadBalancer.ingress, on this process's performance.now() clock.
 */
import type { KubeClient } from '../../src/k8s/client.js';
import { Informer } from '../../src/k8s/informer.js';
import { Resources } from '../../src/k8s/resources.js';
import type { Service } from '../../src/k8s/types.js';

export interface Addressed {
  /** performance.now() when the watch delivered the first status with an address. */
  at: number;
  ips: string[];
}

interface Waiter {
  missing: Set<string>;
  resolve(): void;
}

const ipsOf = (svc: Service): string[] =>
  (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter(Boolean);

export class AddressWatch {
  private readonly informer: Informer<Service>;
  private readonly first = new Map<string, Addressed>();
  private readonly waiters = new Set<Waiter>();
  /** Updates that changed or removed an address a Service already had. */
  changes = 0;

  constructor(
    client: KubeClient,
    readonly namespace: string,
  ) {
    this.informer = new Informer(client.resource<Service>(Resources.services), { namespace });
    this.informer.addHandler({
      onAdd: (svc) => this.seen(svc),
      onUpdate: (old, svc) => {
        const before = ipsOf(old).join(',');
        if (before && before !== ipsOf(svc).join(',')) this.changes++;
        this.seen(svc);
      },
    });
  }

  async start(): Promise<void> {
    this.informer.start();
    await this.informer.waitForSync();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  addressed(name: string): Addressed | undefined {
    return this.first.get(name);
  }

  /** Resolves once every named Service has had an address; rejects after `timeoutMs`. */
  wait(names: Iterable<string>, timeoutMs: number): Promise<void> {
    const missing = new Set([...names].filter((n) => !this.first.has(n)));
    if (missing.size === 0) return Promise.resolve();
    const total = missing.size;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const some = [...missing].slice(0, 5).join(', ');
        reject(
          new Error(
            `timed out after ${timeoutMs} ms: ${missing.size} of ${total} Services in ${this.namespace} still have no address (${some}${missing.size > 5 ? ', ...' : ''})`,
          ),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        missing,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.add(waiter);
    });
  }

  private seen(svc: Service): void {
    const name = svc.metadata.name!;
    if (this.first.has(name)) return;
    const ips = ipsOf(svc);
    if (ips.length === 0) return;
    this.first.set(name, { at: performance.now(), ips });
    for (const waiter of this.waiters) {
      if (waiter.missing.delete(name) && waiter.missing.size === 0) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }
}
