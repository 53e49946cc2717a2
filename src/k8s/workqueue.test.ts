import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { FakeClock, flushMicrotasks } from '../testing/fake-clock.js';
import { type Reconciler, TerminalError, WorkQueue, type WorkQueueOptions } from './workqueue.js';

function deferred() {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function setup(handler: Reconciler<string>, options: Partial<WorkQueueOptions> = {}) {
  const clock = new FakeClock();
  const logs: { obj: object; msg: string }[] = [];
  const logger = { error: (obj: object, msg: string) => void logs.push({ obj, msg }) };
  const queue = new WorkQueue({ name: 'test', concurrency: 1, clock, logger, ...options }, handler);
  return { clock, queue, logs };
}

/** A handler whose runs finish only when the test says so; tracks overlap per key and overall. */
function gatedHandler() {
  const calls: string[] = [];
  const gates: ReturnType<typeof deferred>[] = [];
  const active = new Set<string>();
  let maxActive = 0;
  const handler = async (key: string) => {
    assert.ok(!active.has(key), `${key} handed to two workers at once`);
    active.add(key);
    maxActive = Math.max(maxActive, active.size);
    calls.push(key);
    const gate = deferred();
    gates.push(gate);
    await gate.promise.finally(() => active.delete(key));
  };
  return { handler, calls, gates, active, maxActive: () => maxActive };
}

describe('WorkQueue', () => {
  it('holds a waiting key once and keeps the order of first add', async () => {
    const calls: string[] = [];
    const { queue } = setup(async (key) => void calls.push(key));
    for (const key of ['b', 'a', 'b', 'c', 'a', 'b', 'b', 'b']) queue.add(key);
    assert.equal(queue.len, 3);
    queue.start();
    await queue.drained();
    assert.deepEqual(calls, ['b', 'a', 'c']);
    assert.equal(queue.len, 0);
  });

  it('handles a key added 5 times while waiting exactly once', async () => {
    let calls = 0;
    const { queue } = setup(async () => void calls++);
    for (let i = 0; i < 5; i++) queue.add('a');
    queue.start();
    await queue.drained();
    assert.equal(calls, 1);
  });

  it('never runs a key twice at once, and reruns it after a re-add during processing', async () => {
    const g = gatedHandler();
    let state = 1;
    const seen: number[] = [];
    const handler = (key: string) => {
      seen.push(state);
      return g.handler(key);
    };
    const { queue } = setup(handler, { concurrency: 4 });
    queue.start();
    queue.add('a');
    await flushMicrotasks();
    assert.deepEqual(g.calls, ['a']);
    state = 2;
    queue.add('a');
    queue.add('a');
    await flushMicrotasks();
    assert.deepEqual(g.calls, ['a'], 'a second run must wait for the first one');
    assert.equal(queue.inFlight, 1);
    assert.equal(queue.len, 0, 'a re-added key is not waiting while its run is in flight');
    g.gates[0]!.resolve();
    await flushMicrotasks();
    assert.deepEqual(g.calls, ['a', 'a']);
    assert.deepEqual(seen, [1, 2], 'the rerun observes the state of the last add');
    g.gates[1]!.resolve();
    await queue.drained();
    assert.equal(g.calls.length, 2, 'several re-adds during one run cause a single rerun');
    assert.equal(g.maxActive(), 1);
  });

  it('runs at most `concurrency` handlers and completes every key', async () => {
    const g = gatedHandler();
    const { queue } = setup(g.handler, { concurrency: 2 });
    for (const key of ['a', 'b', 'c', 'd', 'e']) queue.add(key);
    queue.start();
    await flushMicrotasks();
    assert.deepEqual(g.calls, ['a', 'b']);
    assert.equal(queue.inFlight, 2);
    assert.equal(queue.len, 3);
    g.gates[1]!.resolve(); // b finishes first; its slot goes to c
    await flushMicrotasks();
    assert.deepEqual(g.calls, ['a', 'b', 'c']);
    assert.deepEqual([...g.active].sort(), ['a', 'c']);
    for (let i = 0; i < 5; i++) {
      g.gates[i]!.resolve();
      await flushMicrotasks();
    }
    await queue.drained();
    assert.deepEqual(g.calls, ['a', 'b', 'c', 'd', 'e']);
    assert.equal(g.maxActive(), 2);
    assert.equal(queue.inFlight, 0);
  });

  it('retries failures after 5, 10, 20, 40 ms and forgets the count after a success', async () => {
    let failing = true;
    const times: number[] = [];
    const { queue, clock, logs } = setup(async () => {
      times.push(clock.now());
      if (failing) throw new Error('boom');
    });
    queue.start();
    queue.add('a');
    await flushMicrotasks();
    for (const delay of [5, 10, 20, 40]) {
      const runs = times.length;
      await clock.advance(delay - 1);
      assert.equal(times.length, runs, `no retry before ${delay} ms`);
      await clock.advance(1);
      assert.equal(times.length, runs + 1, `retry after ${delay} ms`);
    }
    assert.deepEqual(times, [0, 5, 15, 35, 75]);
    assert.equal(queue.numRequeues('a'), 5);
    assert.equal(logs.length, 5);
    assert.equal(logs[0]!.msg, 'reconcile failed');

    failing = false;
    await clock.advance(80);
    assert.equal(times.at(-1), 155);
    assert.equal(queue.numRequeues('a'), 0);
    await clock.advance(10_000);
    assert.equal(times.length, 6, 'a success is not retried');

    failing = true;
    queue.add('a');
    await flushMicrotasks();
    await clock.advance(5);
    assert.deepEqual(times.slice(6), [10_155, 10_160], 'backoff starts again at 5 ms');
  });

  it('retries handlers that throw synchronously', async () => {
    let calls = 0;
    const { queue, clock } = setup(() => {
      calls++;
      throw new Error('sync');
    });
    queue.start();
    queue.add('a');
    await clock.advance(5);
    assert.equal(calls, 2);
    assert.equal(queue.numRequeues('a'), 2);
  });

  it('requeues after requeueAfterMs and resets the failure count', async () => {
    const times: number[] = [];
    const { queue, clock } = setup(async () => {
      times.push(clock.now());
      if (times.length === 1) throw new Error('once');
      return times.length < 4 ? { requeueAfterMs: 100 } : {};
    });
    queue.start();
    queue.add('a');
    await clock.advance(5);
    assert.equal(queue.numRequeues('a'), 0, 'success with requeueAfter forgets failures');
    await clock.advance(1000);
    assert.deepEqual(times, [0, 5, 105, 205]);
  });

  it('does not requeue on requeueAfterMs: 0', async () => {
    let calls = 0;
    const { queue, clock } = setup(async () => {
      calls++;
      return { requeueAfterMs: 0 };
    });
    queue.start();
    queue.add('a');
    await clock.advance(1000);
    assert.equal(calls, 1);
  });

  it('lets the shortest pending addAfter win', async () => {
    const times: number[] = [];
    const { queue, clock } = setup(async () => void times.push(clock.now()));
    queue.start();
    queue.addAfter('a', 100);
    queue.addAfter('a', 30);
    queue.addAfter('a', 50);
    assert.equal(clock.pendingTimers, 1);
    assert.equal(queue.len, 0);
    await clock.advance(29);
    assert.deepEqual(times, []);
    await clock.advance(1);
    assert.deepEqual(times, [30]);
    await clock.advance(1000);
    assert.deepEqual(times, [30], 'the longer waits were dropped');
  });

  it('adds immediately for a non-positive addAfter delay', async () => {
    const { queue } = setup(async () => {});
    queue.addAfter('a', 0);
    queue.addAfter('b', -5);
    assert.equal(queue.len, 2);
  });

  it('does not retry a TerminalError, but logs and counts it', async () => {
    let calls = 0;
    const registry = new Registry();
    const { queue, clock, logs } = setup(
      async () => {
        calls++;
        throw new TerminalError('invalid spec');
      },
      { registry },
    );
    queue.start();
    queue.add('a');
    await clock.advance(60_000);
    assert.equal(calls, 1);
    assert.equal(queue.numRequeues('a'), 0);
    assert.equal(logs.length, 1);
    assert.ok((logs[0]!.obj as { err: unknown }).err instanceof TerminalError);
    const metrics = await registry.getMetricsAsJSON();
    assert.equal(value(metrics, 'portico_workqueue_terminal_errors_total'), 1);
    assert.equal(value(metrics, 'portico_workqueue_retries_total'), 0);
  });

  it('shutdown drops waiting and delayed keys and waits for in-flight handlers', async () => {
    const g = gatedHandler();
    const { queue, clock } = setup(
      (key) => g.handler(key).then(() => Promise.reject(new Error('late failure'))),
      { concurrency: 2 },
    );
    queue.start();
    for (const key of ['a', 'b', 'c']) queue.add(key);
    queue.addAfter('d', 10);
    await flushMicrotasks();
    let done = false;
    const stopped = queue.shutdown().then(() => {
      done = true;
    });
    assert.equal(queue.shutdown(), queue.shutdown(), 'shutdown is idempotent');
    assert.equal(clock.pendingTimers, 0);
    queue.add('e');
    queue.addAfter('f', 1);
    assert.equal(queue.len, 0);
    g.gates[0]!.resolve();
    await flushMicrotasks();
    assert.equal(done, false);
    assert.equal(queue.inFlight, 1);
    g.gates[1]!.resolve();
    await stopped;
    await clock.advance(60_000);
    assert.deepEqual(g.calls, ['a', 'b'], 'nothing runs after shutdown, failures are not retried');
    assert.equal(clock.pendingTimers, 0);
  });

  it('drained resolves at once when idle and after queued work otherwise', async () => {
    const { queue, clock } = setup(() => clock.sleep(50));
    await queue.drained();
    queue.start();
    queue.add('a');
    let drained = false;
    const p = queue.drained().then(() => {
      drained = true;
    });
    await clock.advance(49);
    assert.equal(drained, false);
    await clock.advance(1);
    await p;
  });

  it('rejects a non-positive concurrency', () => {
    assert.throws(() => setup(async () => {}, { concurrency: 0 }), RangeError);
    assert.throws(() => setup(async () => {}, { concurrency: 1.5 }), RangeError);
  });
});

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

function value(metrics: MetricsJson, name: string, metricName = name, queue = 'test'): number | undefined {
  const metric = metrics.find((m) => m.name === name);
  // Histogram values carry their series name (`_sum`, `_count`, ...), which prom-client's types omit.
  const values = (metric?.values ?? []) as {
    value: number;
    labels: { name?: unknown };
    metricName?: string;
  }[];
  return values.find((v) => v.labels.name === queue && (v.metricName ?? name) === metricName)?.value;
}

describe('WorkQueue metrics', () => {
  it('reports depth, adds, retries, latency, work duration and running time', async () => {
    const registry = new Registry();
    let failed = false;
    const { queue, clock } = setup(
      async (key) => {
        await clock.sleep(10);
        if (key === 'a' && !failed) {
          failed = true;
          throw new Error('first try');
        }
      },
      { registry },
    );
    queue.add('a');
    queue.add('b');
    queue.add('a');
    await clock.advance(5);
    let metrics = await registry.getMetricsAsJSON();
    assert.equal(value(metrics, 'portico_workqueue_depth'), 2);
    assert.equal(value(metrics, 'portico_workqueue_adds_total'), 2);

    queue.start(); // a runs 5..15, fails; b runs 15..25; a retried at 20, runs 25..35
    await clock.advance(4);
    metrics = await registry.getMetricsAsJSON();
    assert.equal(value(metrics, 'portico_workqueue_depth'), 1);
    assert.equal(value(metrics, 'portico_workqueue_longest_running_processor_seconds'), 0.004);
    assert.equal(value(metrics, 'portico_workqueue_unfinished_work_seconds'), 0.004);

    await clock.advance(100);
    await queue.drained();
    metrics = await registry.getMetricsAsJSON();
    const latency = 'portico_workqueue_queue_duration_seconds';
    const work = 'portico_workqueue_work_duration_seconds';
    assert.equal(value(metrics, 'portico_workqueue_depth'), 0);
    assert.equal(value(metrics, 'portico_workqueue_adds_total'), 3);
    assert.equal(value(metrics, 'portico_workqueue_retries_total'), 1);
    assert.equal(value(metrics, latency, `${latency}_count`), 3);
    assert.ok(Math.abs(value(metrics, latency, `${latency}_sum`)! - (0.005 + 0.015 + 0.005)) < 1e-9);
    assert.equal(value(metrics, work, `${work}_count`), 3);
    assert.ok(Math.abs(value(metrics, work, `${work}_sum`)! - 0.03) < 1e-9);
    assert.equal(value(metrics, 'portico_workqueue_longest_running_processor_seconds'), 0);
    assert.match(await registry.getSingleMetricAsString('portico_workqueue_retries_total'), /name="test"} 1/);
  });

  it('lets several queues share one registry, told apart by the name label', async () => {
    const registry = new Registry();
    const clock = new FakeClock();
    const opts = { concurrency: 1, clock, registry };
    const one = new WorkQueue({ ...opts, name: 'one' }, async () => {});
    const two = new WorkQueue({ ...opts, name: 'two' }, () => clock.sleep(1000));
    one.add('x');
    two.add('x');
    two.add('y');
    two.start();
    await clock.advance(250);
    const metrics = await registry.getMetricsAsJSON();
    assert.equal(value(metrics, 'portico_workqueue_adds_total', undefined, 'one'), 1);
    assert.equal(value(metrics, 'portico_workqueue_adds_total', undefined, 'two'), 2);
    assert.equal(value(metrics, 'portico_workqueue_longest_running_processor_seconds', undefined, 'one'), 0);
    assert.equal(
      value(metrics, 'portico_workqueue_longest_running_processor_seconds', undefined, 'two'),
      0.25,
    );
    await Promise.all([one.shutdown(), two.shutdown(), clock.advance(1000)]);
  });
});
