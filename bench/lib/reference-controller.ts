/**
 * The least a controller can do for new LoadBalancer Services, for comparing Portico's controller with:
 * watch one namespace and, for each Service added, write its status (its address, in a status update
 * carrying the resourceVersion, as Portico writes it) and then create an Event, `inFlight` Services
 * at a time. No cache, no allocator, no logging: what is left is the API traffic itself.
 */
import type { KubeClient } from '../../src/k8s/client.js';
import { Resources } from '../../src/k8s/resources.js';
import type { KubeEvent, Service } from '../../src/k8s/types.js';
import { benchIP } from './services.js';

export class ReferenceController {
  private readonly services;
  private readonly events;
  private readonly stopping = new AbortController();
  private readonly backlog: Service[] = [];
  private running = 0;
  private next = 0;
  private served = 0;
  private failure: unknown;
  private onServed: (() => void) | undefined;

  constructor(
    client: KubeClient,
    readonly namespace: string,
    private readonly inFlight: number,
    /** Addresses are benchIP(firstAddress + i). */
    private readonly firstAddress: number,
  ) {
    this.services = client.resource<Service>(Resources.services);
    this.events = client.resource<KubeEvent>(Resources.events);
  }

  /** Lists, then watches from the list's resourceVersion in the background. */
  async start(): Promise<void> {
    const list = await this.services.list({ namespace: this.namespace, limit: 1 });
    void this.watch(list.metadata.resourceVersion).catch((err: unknown) => {
      if (!this.stopping.signal.aborted) this.fail(err);
    });
  }

  stop(): void {
    this.stopping.abort();
  }

  /** Resolves once `count` Services were served; rejects on a failed write or after `timeoutMs`. */
  async waitServed(count: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.served < count) {
      if (this.failure) throw this.failure;
      if (performance.now() > deadline) {
        throw new Error(
          `reference controller: ${this.served} of ${count} Services served in ${timeoutMs} ms`,
        );
      }
      await new Promise<void>((resolve) => {
        this.onServed = resolve;
        setTimeout(resolve, 200);
      });
    }
  }

  private async watch(resourceVersion: string | undefined): Promise<void> {
    const stream = this.services.watch(
      { namespace: this.namespace, resourceVersion, allowWatchBookmarks: true },
      this.stopping.signal,
    );
    for await (const event of stream) {
      if (event.type !== 'ADDED') continue;
      this.backlog.push(event.object as Service);
      this.pump();
    }
  }

  private pump(): void {
    while (this.running < this.inFlight && this.backlog.length > 0) {
      const svc = this.backlog.shift()!;
      this.running++;
      this.serve(svc, benchIP(this.firstAddress + this.next++))
        .then(() => {
          this.served++;
          this.onServed?.();
        })
        .catch((err: unknown) => this.fail(err))
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }

  private async serve(svc: Service, ip: string): Promise<void> {
    const { name, namespace, uid } = svc.metadata;
    const message = `Assigned ${ip} from pool reference`;
    const now = new Date().toISOString();
    await this.services.updateMetadata(
      {
        ...svc,
        metadata: { ...svc.metadata, managedFields: undefined },
        status: { loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } },
      },
      { subresource: 'status', fieldManager: 'portico-bench-reference' },
    );
    await this.events.create({
      metadata: { name: `${name}.${Date.now().toString(16)}`, namespace },
      eventTime: now.replace('Z', '000Z'),
      reportingController: 'portico.dev/bench-reference',
      reportingInstance: 'bench',
      action: 'Allocate',
      reason: 'IPAllocated',
      regarding: { apiVersion: 'v1', kind: 'Service', name, namespace, uid },
      note: message,
      type: 'Normal',
    });
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    this.onServed?.();
  }
}
