import type { Logger } from '../util/logger.js';
import type { KubeClient } from './client.js';
import { Resources } from './resources.js';
import type { KubeEvent } from './types.js';

export type EventSeries = NonNullable<KubeEvent['series']>;

/** Where the recorder writes Events: the API server, or memory in tests. */
export interface EventSink {
  create(event: KubeEvent): Promise<KubeEvent>;
  /** Rejects with a 404 ApiError when the Event no longer exists. */
  patchSeries(namespace: string, name: string, series: EventSeries): Promise<void>;
}

/** Writes events.k8s.io/v1 Events; series updates are merge patches, as client-go sends them. */
export function kubeEventSink(client: KubeClient): EventSink {
  const events = client.resource<KubeEvent>(Resources.events);
  return {
    create: (event) => events.create(event),
    async patchSeries(namespace, name, series) {
      await events.patch(name, namespace, { series }, { type: 'merge' });
    },
  };
}

/** Logs Events at debug level instead of writing them: the recorder's sink when it has no client. */
export const logSink = (logger: Logger): EventSink => ({
  create: async (event) => {
    logger.debug({ event }, 'event');
    return event;
  },
  patchSeries: async (namespace, name, series) => logger.debug({ namespace, name, series }, 'event series'),
});
