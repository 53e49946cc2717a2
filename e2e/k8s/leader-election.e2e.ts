import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Resources } from '../../src/k8s/resources.js';
import { formatMicroTime } from '../../src/k8s/time.js';
import type { Lease } from '../../src/k8s/types.js';
import { useControlPlane } from '../support/fixture.js';
import { createTestNamespace, uniqueName } from '../support/kube.js';
import { waitFor } from '../support/wait.js';

const LEASE_MS = 3000;
const RENEW_MS = 2000;
const RETRY_MS = 500;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Node + tsx boot and the first acquisition, on a busy 2-core machine. */
const START_TIMEOUT_MS = 20_000;

type EventName = 'started' | 'stopped' | 'new-leader' | 'acting';
type LeaderEvent = { event: EventName; identity: string; leader?: string; t: number };
type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** One candidate process: its stdout parsed into events, its stderr kept for failure reports. */
class Candidate {
  readonly events: LeaderEvent[] = [];
  /** Settles once the process has exited and its output has been read to the end. */
  readonly closed: Promise<Exit>;
  exit: Exit | undefined;
  private stderr = '';
  private readonly child: ChildProcess;

  constructor(
    readonly identity: string,
    args: string[],
  ) {
    const argv = ['--import', 'tsx', 'e2e/fixtures/leader-process.ts', '--identity', identity, ...args];
    this.child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as LeaderEvent);
      } catch {
        this.stderr += `(stdout) ${line}\n`;
      }
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-20_000);
    });
    this.child.once('error', (err) => {
      this.stderr += `spawn: ${err.message}\n`; // 'close' follows
    });
    this.closed = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  all = (event: EventName) => this.events.filter((e) => e.event === event);
  first = (event: EventName) => this.events.find((e) => e.event === event);
  last = (event: EventName) => this.events.findLast((e) => e.event === event);
  sawLeader = (leader: string) => this.events.some((e) => e.event === 'new-leader' && e.leader === leader);

  /** Sends `signal` (unless it has exited) and waits for the exit. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    if (!this.exit) this.child.kill(signal);
    return this.closed;
  }

  report(): string {
    const events = this.events.filter((e) => e.event !== 'acting').map((e) => JSON.stringify(e));
    const acting = this.all('acting').map((e) => e.t);
    const span = acting.length ? ` (${acting[0]}..${acting.at(-1)})` : '';
    const exit = this.exit ? JSON.stringify(this.exit) : 'running';
    const stderr = this.stderr.trimEnd().split('\n').slice(-15).join('\n');
    return `--- candidate ${this.identity} (${exit}): ${events.join(' ')} ${acting.length} × acting${span}\n${stderr}`;
  }
}

describe('leader election between processes against a real kube-apiserver', () => {
  const cp = useControlPlane({ controllerManager: false });
  const live = new Set<Candidate>();
  const killAll = async () => {
    await Promise.all([...live].map((c) => c.kill('SIGKILL')));
    live.clear();
  };
  after(killAll);

  /** A test body with its own namespace and lease; prints the candidates' output on failure. */
  type Election = {
    start(...identities: string[]): Candidate[];
    /** A candidate that keeps running and competes again after losing (`--reacquire`). */
    startReacquiring(identity: string): Candidate;
    read(): Promise<Lease>;
  };
  const run = (prefix: string, body: (e: Election, t: TestContext) => Promise<void>) => (t: TestContext) =>
    cp.run(async () => {
      const ns = await createTestNamespace(cp.admin, prefix);
      const lease = uniqueName('lease');
      const times = ['--lease-ms', `${LEASE_MS}`, '--renew-ms', `${RENEW_MS}`, '--retry-ms', `${RETRY_MS}`];
      const args = ['--kubeconfig', cp.plane.kubeconfigPath, '--namespace', ns, '--name', lease, ...times];
      const spawnAll = (ids: string[], extra: string[]) => {
        const candidates = ids.map((id) => new Candidate(id, [...args, ...extra]));
        for (const c of candidates) live.add(c);
        return candidates;
      };
      const start = (...ids: string[]) => spawnAll(ids, []);
      const startReacquiring = (id: string) => spawnAll([id], ['--reacquire'])[0]!;
      const read = () => cp.admin.resource<Lease>(Resources.leases).get(lease, ns);
      try {
        await body({ start, startReacquiring, read }, t);
      } catch (err) {
        process.stderr.write(`\n${[...live].map((c) => c.report()).join('\n')}\n`);
        throw err;
      } finally {
        await killAll();
      }
    })();

  /** Waits for one of `candidates` to print `started` and returns it. */
  const firstToLead = (what: string, candidates: Candidate[], timeoutMs = START_TIMEOUT_MS) =>
    waitFor(what, () => candidates.find((c) => c.first('started')), { timeoutMs, intervalMs: 10 });

  /** Waits until one of `candidates` leads and acts, and every one of them has seen it lead. */
  async function leaderAmong(candidates: Candidate[]): Promise<Candidate> {
    const leader = await firstToLead('a candidate to start leading', candidates);
    const seenBy = (seen: (state: unknown) => void) => {
      seen(candidates.map((c) => c.events.filter((e) => e.event !== 'acting')));
      return candidates.every((c) => c.sawLeader(leader.identity));
    };
    await waitFor(`every candidate to see ${leader.identity} lead`, seenBy, { timeoutMs: START_TIMEOUT_MS });
    await waitFor(`${leader.identity} to act`, () => leader.first('acting'));
    return leader;
  }

  /** Waits for one of `candidates` to take over, then for it to act. */
  async function successor(candidates: Candidate[]): Promise<Candidate> {
    const next = await firstToLead('another candidate to start leading', candidates, 15_000);
    await waitFor(`${next.identity} to act`, () => next.first('acting'));
    return next;
  }

  const actingAfter = (c: Candidate, t: number) => c.all('acting').filter((e) => e.t > t);

  it(
    'lets exactly one of three candidates lead, the one the Lease names',
    run('leader-one', async ({ start, read }) => {
      const candidates = start('a', 'b', 'c');
      const leader = await leaderAmong(candidates);
      await sleep(LEASE_MS + 2 * RETRY_MS); // long enough for a wrong takeover to happen
      assert.deepEqual(
        candidates.filter((c) => c.first('started')).map((c) => c.identity),
        [leader.identity],
      );
      assert.equal((await read()).spec?.holderIdentity, leader.identity);
      for (const c of candidates) {
        assert.equal(c.all('acting').length > 0, c === leader, `${c.identity} acts only if it leads`);
      }
      assert.ok(leader.all('acting').length >= 20, `${leader.all('acting').length} × acting`);
    }),
  );

  it(
    'hands over within the lease duration when the leader is SIGKILLed',
    run('leader-kill', async ({ start, read }, t) => {
      const candidates = start('a', 'b', 'c');
      const old = await leaderAmong(candidates);
      const before = (await read()).spec!;
      const killedAt = Date.now();
      assert.equal((await old.kill('SIGKILL')).signal, 'SIGKILL');
      const next = await successor(candidates.filter((c) => c !== old));
      const takeover = next.first('started')!.t - killedAt;
      t.diagnostic(`takeover after SIGKILL: ${takeover} ms`);
      assert.ok(takeover <= LEASE_MS + 2.5 * RETRY_MS + 1000, `takeover took ${takeover} ms`);
      // It waited for the lease to expire: the last renewal was at most a retry period (+ latency) before.
      assert.ok(takeover >= LEASE_MS - RETRY_MS - 500, `takeover after only ${takeover} ms`);
      const now = (await read()).spec!;
      assert.equal(now.holderIdentity, next.identity);
      assert.notEqual(now.holderIdentity, before.holderIdentity);
      assert.equal(now.leaseTransitions, (before.leaseTransitions ?? 0) + 1);
      assert.ok(next.first('acting')!.t > old.last('acting')!.t, 'the new leader acts after the old stopped');
    }),
  );

  it(
    'hands over at once when the leader is SIGTERMed and releases the lease',
    run('leader-term', async ({ start, read }, t) => {
      const candidates = start('a', 'b', 'c');
      const old = await leaderAmong(candidates);
      const termAt = Date.now();
      const exited = old.kill('SIGTERM');
      const next = await successor(candidates.filter((c) => c !== old));
      const takeover = next.first('started')!.t - termAt;
      t.diagnostic(`takeover after SIGTERM: ${takeover} ms`);
      assert.ok(takeover < 1500, `takeover took ${takeover} ms`);
      assert.deepEqual(await exited, { code: 0, signal: null });
      assert.ok(old.first('stopped'), 'the old leader reported it stopped');
      assert.ok(next.first('acting')!.t > old.last('acting')!.t, 'the new leader acts after the old stopped');
      assert.equal((await read()).spec?.holderIdentity, next.identity);
    }),
  );

  /** Waits for `c` to stop leading, at most `boundMs` after `since`; returns the latency. */
  async function stoppedWithin(c: Candidate, since: number, boundMs: number): Promise<number> {
    const stopped = await waitFor(`${c.identity} to stop leading`, () => c.first('stopped'), {
      timeoutMs: boundMs + 5000,
      intervalMs: 10,
    });
    const latency = stopped.t - since;
    assert.ok(latency <= boundMs, `stopped ${latency} ms after losing the lease (bound ${boundMs} ms)`);
    return latency;
  }

  /** A leader that lost its lease exits 1, having acted no more after `stopped`. */
  async function expectQuit(c: Candidate): Promise<void> {
    assert.deepEqual(await c.closed, { code: 1, signal: null });
    assert.deepEqual(actingAfter(c, c.first('stopped')!.t - 1), [], 'no acting after stopped');
  }

  it(
    'stops acting within the renew deadline when it cannot renew (kube-apiserver frozen)',
    run('leader-freeze', async ({ start, read }, t) => {
      const leader = await leaderAmong(start('a'));
      const pid = cp.plane.pids()['kube-apiserver'];
      assert.ok(pid, 'kube-apiserver runs');
      const frozenAt = Date.now();
      process.kill(pid, 'SIGSTOP');
      let latency: number;
      try {
        latency = await stoppedWithin(leader, frozenAt, RENEW_MS + RETRY_MS + 1000);
        await sleep(frozenAt + RENEW_MS + 1000 - Date.now());
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      t.diagnostic(`stopped acting ${latency} ms after kube-apiserver froze`);
      await expectQuit(leader);
      // It kept leading through a pause shorter than the renew deadline.
      assert.ok(latency >= RENEW_MS - RETRY_MS - 200, `stopped only ${latency} ms after the freeze`);
      await waitFor('kube-apiserver to answer again', () => read(), { timeoutMs: 30_000 });
    }),
  );

  it(
    'stops acting at its next renewal when another holder takes the lease',
    run('leader-steal', async ({ start, read }, t) => {
      const leader = await leaderAmong(start('a'));
      let stolenAt = 0;
      await waitFor('the admin to take the lease', async () => {
        const { spec, ...lease } = await read();
        const [stamp, leaseTransitions] = [formatMicroTime(Date.now()), (spec?.leaseTransitions ?? 0) + 1];
        const stolen = { holderIdentity: 'thief', leaseDurationSeconds: 600, leaseTransitions };
        stolenAt = Date.now();
        const leases = cp.admin.resource<Lease>(Resources.leases);
        return leases.update({ ...lease, spec: { ...stolen, acquireTime: stamp, renewTime: stamp } });
      });
      const latency = await stoppedWithin(leader, stolenAt, RETRY_MS + 1000);
      t.diagnostic(`stopped acting ${latency} ms after the lease was taken`);
      await expectQuit(leader);
      assert.equal((await read()).spec?.holderIdentity, 'thief', 'the old leader did not take it back');
    }),
  );

  it(
    'a leader that loses its lease and keeps running acts no more until it leads again',
    run('leader-lose-live', async ({ startReacquiring, read }, t) => {
      const leader = await leaderAmong([startReacquiring('a')]);
      const leases = cp.admin.resource<Lease>(Resources.leases);
      const write = async (spec: Lease['spec']) => {
        const { spec: _old, ...lease } = await read();
        return leases.update({ ...lease, spec });
      };
      const stamp = () => formatMicroTime(Date.now());
      const stolenAt = Date.now();
      await write({
        holderIdentity: 'thief',
        leaseDurationSeconds: 600,
        acquireTime: stamp(),
        renewTime: stamp(),
      });
      const latency = await stoppedWithin(leader, stolenAt, RETRY_MS + 1000);
      const stoppedAt = leader.first('stopped')!.t;
      await sleep(2000); // alive and competing, but the thief's lease is long
      assert.equal(leader.exit, undefined, 'the process keeps running');
      assert.deepEqual(actingAfter(leader, stoppedAt - 1), [], 'no acting while it does not lead');
      assert.equal(leader.all('started').length, 1);

      await write({ holderIdentity: '', leaseDurationSeconds: 1, renewTime: stamp() }); // the thief releases it
      const again = await waitFor('it to lead again', () => leader.all('started')[1], { timeoutMs: 10_000 });
      await waitFor('it to act again', () => actingAfter(leader, again.t).length > 0, { timeoutMs: 5000 });
      const gap = leader.all('acting').filter((e) => e.t > stoppedAt - 1 && e.t < again.t);
      assert.deepEqual(gap, [], 'no acting between losing and regaining the lease');
      t.diagnostic(`stopped acting ${latency} ms after the lease was taken; led again after release`);
    }),
  );

  it(
    'keeps a candidate that starts while the lease is held waiting until the lease is free',
    run('leader-wait', async ({ start }) => {
      const holder = await leaderAmong(start('holder'));
      const [late] = start('late');
      await waitFor('the late candidate to see the holder', () => late!.sawLeader('holder'), {
        timeoutMs: START_TIMEOUT_MS,
      });
      await sleep(LEASE_MS + 2 * RETRY_MS); // past the lease duration: the holder renews, so it waits on
      assert.equal(late!.first('started'), undefined, 'the late candidate does not lead a held lease');
      assert.equal(late!.all('acting').length, 0);
      const exited = holder.kill('SIGTERM');
      await successor([late!]);
      assert.deepEqual(await exited, { code: 0, signal: null });
      assert.ok(
        late!.first('started')!.t >= holder.first('stopped')!.t,
        'it led only once the lease was free',
      );
      assert.ok(late!.first('acting')!.t > holder.last('acting')!.t);
    }),
  );
});
