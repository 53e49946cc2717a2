import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { FakeClock } from '../testing/fake-clock.js';
import type { KubeClient, RequestOptions } from './client.js';
import { ApiError } from './errors.js';
import {
  EventRecorder,
  type EventRecorderOptions,
  type EventSeries,
  type EventSink,
  kubeEventSink,
} from './event-recorder.js';
import { ResourceClient } from './resource-client.js';
import type { ResourceRef } from './resources.js';
import type { KubeEvent, Service } from './types.js';

class MemorySink implements EventSink {
  readonly events = new Map<string, KubeEvent>();
  readonly creates: KubeEvent[] = [];
  readonly patches: { namespace: string; name: string; series: EventSeries }[] = [];
  failWith: Error | undefined;

  async create(event: KubeEvent): Promise<KubeEvent> {
    if (this.failWith) throw this.failWith;
    this.creates.push(event);
    this.events.set(`${event.metadata.namespace}/${event.metadata.name}`, event);
    return event;
  }

  async patchSeries(namespace: string, name: string, series: EventSeries): Promise<void> {
    if (this.failWith) throw this.failWith;
    const event = this.events.get(`${namespace}/${name}`);
    if (!event) throw new ApiError(404, 'NotFound', `events "${name}" not found`);
    this.patches.push({ namespace, name, series });
    event.series = series;
  }
}

const svc = (name: string, uid = `uid-${name}`): Service & { apiVersion: string; kind: string } => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'web', uid, resourceVersion: '7' },
});

function setup(options: Partial<EventRecorderOptions> = {}) {
  const clock = new FakeClock();
  const sink = new MemorySink();
  const registry = new Registry();
  const logs: { level: number; msg: string; suppressed?: number }[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const recorder = new EventRecorder({
    client: sink,
    reportingController: 'portico.dev/controller',
    reportingInstance: 'controller-0',
    clock,
    logger,
    registry,
    ...options,
  });
  const metric = async (name: string) =>
    (await registry.getSingleMetric(name)?.get())?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
  return { clock, sink, recorder, logs, metric };
}

const warn = (recorder: EventRecorder, name = 'a', note = 'no free address in pool') =>
  recorder.event(svc(name), 'Warning', 'AllocationFailed', 'Allocate', note);

describe('kubeEventSink', () => {
  it('POSTs events.k8s.io/v1 Events and merge-patches their series', async () => {
    const calls: ({ method: string; path: string } & RequestOptions)[] = [];
    const client = {
      resource: (ref: ResourceRef) => new ResourceClient(client as unknown as KubeClient, ref),
      request: async (method: string, path: string, options: RequestOptions = {}) => {
        calls.push({ method, path, ...options });
        return {};
      },
    };
    const sink = kubeEventSink(client as unknown as KubeClient);
    const { recorder } = setup({ client: sink });
    warn(recorder);
    warn(recorder);
    await recorder.close();
    const [create, patch] = calls;
    assert.equal(create?.method, 'POST');
    assert.equal(create?.path, '/apis/events.k8s.io/v1/namespaces/web/events');
    const body = create?.body as KubeEvent;
    assert.equal(body.apiVersion, 'events.k8s.io/v1');
    assert.equal(body.kind, 'Event');
    assert.equal(patch?.method, 'PATCH');
    assert.equal(patch?.path, `/apis/events.k8s.io/v1/namespaces/web/events/${body.metadata.name}`);
    assert.equal(patch?.contentType, 'application/merge-patch+json');
    assert.deepEqual(patch?.body, { series: { count: 2, lastObservedTime: '2026-01-01T00:00:00.000000Z' } });
  });
});

describe('EventRecorder', () => {
  it('creates an events.k8s.io/v1 Event on the first occurrence', async () => {
    const { sink, recorder, metric } = setup();
    warn(recorder);
    await recorder.flush();
    assert.equal(sink.creates.length, 1);
    const ev = sink.creates[0]!;
    assert.match(ev.metadata.name!, /^a\.[0-9a-f]{16}$/);
    assert.deepEqual(ev, {
      metadata: { name: ev.metadata.name, namespace: 'web' },
      eventTime: '2026-01-01T00:00:00.000000Z',
      reportingController: 'portico.dev/controller',
      reportingInstance: 'controller-0',
      action: 'Allocate',
      reason: 'AllocationFailed',
      regarding: {
        apiVersion: 'v1',
        kind: 'Service',
        name: 'a',
        namespace: 'web',
        uid: 'uid-a',
        resourceVersion: '7',
      },
      note: 'no free address in pool',
      type: 'Warning',
    });
    assert.equal(await metric('portico_events_emitted_total'), 1);
  });

  it('puts Events about cluster-scoped objects in default, with a valid name', async () => {
    const { sink, recorder } = setup();
    recorder.event(
      { apiVersion: 'v1', kind: 'Node', name: 'Node_1.', uid: 'n1' },
      'Normal',
      'Announcing',
      'Announce',
      '',
    );
    await recorder.flush();
    assert.equal(sink.creates[0]?.metadata.namespace, 'default');
    assert.match(sink.creates[0]!.metadata.name!, /^node-1\.[0-9a-f]{16}$/);
  });

  it('aggregates 10 repeats into one series patch with count 11 after the flush interval', async () => {
    const { clock, sink, recorder, metric } = setup();
    warn(recorder);
    for (let i = 0; i < 10; i++) {
      await clock.advance(1_000);
      warn(recorder);
    }
    assert.equal(sink.creates.length, 1);
    assert.equal(sink.patches.length, 0);
    await clock.advance(30_000);
    assert.equal(sink.creates.length, 1);
    assert.deepEqual(sink.patches, [
      {
        namespace: 'web',
        name: sink.creates[0]!.metadata.name!,
        series: { count: 11, lastObservedTime: '2026-01-01T00:00:10.000000Z' },
      },
    ]);
    assert.equal(await metric('portico_events_emitted_total'), 11);
    await clock.advance(60_000);
    assert.equal(sink.patches.length, 1, 'nothing new, nothing written');
    await recorder.close();
  });

  it('writes at most one patch per flush interval', async () => {
    const { clock, sink, recorder } = setup();
    warn(recorder);
    for (let i = 0; i < 60; i++) {
      await clock.advance(1_000);
      warn(recorder);
    }
    assert.ok(sink.patches.length <= 2, `${sink.patches.length} patches in 60 s`);
    await recorder.close();
    assert.equal(sink.patches.at(-1)?.series.count, 61);
    assert.equal(clock.pendingTimers, 0);
  });

  it('keeps events that differ in note, type or object apart', async () => {
    const { sink, recorder } = setup();
    warn(recorder, 'a', 'one');
    warn(recorder, 'a', 'two');
    warn(recorder, 'b', 'one');
    recorder.event(svc('a'), 'Normal', 'AllocationFailed', 'Allocate', 'one');
    await recorder.flush();
    assert.equal(sink.creates.length, 4);
    assert.equal(sink.patches.length, 0);
  });

  it('starts a new Event for a repeat after the series window', async () => {
    const { clock, sink, recorder } = setup();
    warn(recorder);
    await clock.advance(5 * 60_000);
    warn(recorder);
    await clock.advance(6 * 60_000 + 1);
    warn(recorder);
    await recorder.flush();
    assert.equal(sink.creates.length, 2);
    assert.equal(sink.patches.length, 1);
    assert.equal(sink.creates[1]!.eventTime, '2026-01-01T00:11:00.001000Z');
    assert.notEqual(sink.creates[0]!.metadata.name, sink.creates[1]!.metadata.name);
  });

  it('limits new Events per object, counting the excess as dropped', async () => {
    const { clock, sink, recorder, logs, metric } = setup({ spamBurst: 25 });
    for (let i = 0; i < 30; i++) warn(recorder, 'a', `attempt ${i}`);
    warn(recorder, 'b', 'other object');
    await recorder.flush();
    assert.equal(sink.creates.length, 26);
    assert.equal(await metric('portico_events_dropped_total'), 5);
    assert.equal(logs.filter((l) => l.msg.startsWith('event dropped')).length, 5);
    await clock.advance(5 * 60_000);
    warn(recorder, 'a', 'later');
    await recorder.flush();
    assert.equal(sink.creates.length, 27);
  });

  it('creates a fresh Event with the series when the old one was deleted', async () => {
    const { clock, sink, recorder } = setup();
    warn(recorder);
    warn(recorder);
    await clock.advance(30_000);
    sink.events.clear();
    warn(recorder);
    await clock.advance(30_000);
    assert.equal(sink.creates.length, 2);
    assert.deepEqual(sink.creates[1]!.series, { count: 3, lastObservedTime: '2026-01-01T00:00:30.000000Z' });
    assert.notEqual(sink.creates[1]!.metadata.name, sink.creates[0]!.metadata.name);
    warn(recorder);
    await recorder.flush();
    assert.equal(sink.patches.at(-1)?.name, sink.creates[1]!.metadata.name);
    assert.equal(sink.patches.at(-1)?.series.count, 4);
  });

  it('never throws to the caller when the API fails, and rate-limits the failure logs', async () => {
    const { clock, sink, recorder, logs, metric } = setup();
    sink.failWith = new Error('connection refused');
    assert.doesNotThrow(() => {
      warn(recorder, 'a');
      warn(recorder, 'a');
      warn(recorder, 'b');
      recorder.event({ kind: 'Service' }, 'Warning', 'X', 'Y', 'no name');
    });
    await clock.advance(30_000);
    await recorder.flush();
    const failures = logs.filter((l) => l.level === 40);
    assert.equal(failures.length, 2, 'one log line per 30 s');
    assert.equal(failures[1]?.suppressed, 2);
    assert.equal(await metric('portico_events_dropped_total'), 2);
    sink.failWith = undefined;
    warn(recorder, 'a');
    await recorder.flush();
    assert.equal(sink.creates[0]?.series?.count, 3, 'the Event is created once the API answers');
  });

  it('ignores events after close and leaves no timer behind', async () => {
    const { clock, sink, recorder } = setup();
    warn(recorder);
    warn(recorder);
    await recorder.close();
    assert.equal(sink.patches.length, 1);
    warn(recorder, 'b');
    await recorder.flush();
    assert.equal(sink.creates.length, 1);
    assert.equal(clock.pendingTimers, 0);
  });

  it('clips notes to the 1 kB the API server accepts', async () => {
    const { sink, recorder } = setup();
    warn(recorder, 'a', 'é'.repeat(1000));
    await recorder.flush();
    const note = sink.creates[0]!.note!;
    assert.ok(Buffer.byteLength(note) <= 1024);
    assert.ok(note.endsWith('...'));
  });

  it('forgets the least recently seen events beyond maxKeys, writing their counts first', async () => {
    const { sink, recorder } = setup({ maxKeys: 2 });
    warn(recorder, 'a');
    warn(recorder, 'a');
    warn(recorder, 'b');
    warn(recorder, 'c');
    await recorder.flush();
    assert.deepEqual(
      sink.patches.map((p) => p.series.count),
      [2],
    );
    warn(recorder, 'a');
    await recorder.flush();
    assert.equal(sink.creates.length, 4);
  });
});

describe('EventRecorder: write concurrency', () => {
  it('keeps at most maxInFlight writes in flight and writes every Event, in order', async () => {
    let active = 0;
    let peak = 0;
    const created: string[] = [];
    const slowSink: EventSink = {
      async create(event) {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 2));
        active--;
        created.push(event.regarding.name ?? '');
        return event;
      },
      async patchSeries() {},
    };
    const recorder = new EventRecorder({
      client: slowSink,
      reportingController: 'portico.dev/controller',
      reportingInstance: 'controller-0',
      maxInFlight: 3,
    });
    const names = Array.from({ length: 20 }, (_, i) => `s${i}`);
    for (const n of names) recorder.event(svc(n), 'Normal', 'IPAllocated', 'Allocate', 'Assigned');
    await recorder.close();
    assert.equal(peak, 3);
    assert.deepEqual(created.sort(), [...names].sort());
  });
});

describe('EventRecorder: waitTurn', () => {
  it('holds writes until waitTurn resolves, then writes them all', async () => {
    const sink = new MemorySink();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const recorder = new EventRecorder({
      client: sink,
      reportingController: 'portico.dev/controller',
      reportingInstance: 'controller-0',
      waitTurn: () => gate,
    });
    recorder.event(svc('a'), 'Normal', 'IPAllocated', 'Allocate', 'Assigned');
    recorder.event(svc('b'), 'Normal', 'IPAllocated', 'Allocate', 'Assigned');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(sink.creates.length, 0, 'nothing written while the controller is busy');
    open();
    await recorder.flush();
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(sink.creates.map((e) => e.regarding.name).sort(), ['a', 'b']);
    await recorder.close();
  });
});
