/**
 * The decisions of Lease-based leader election (coordination.k8s.io/v1), with client-go's
 * semantics, as pure functions: no I/O, no timers. The shell (leader-election.ts) reads the Lease,
 * asks `decide` what to do, and writes the spec it returns with optimistic concurrency.
 */
import { formatMicroTime } from './time.js';
import type { Lease } from './types.js';

/** The spec we write: every field set. */
export interface LeaseSpec {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: string;
  renewTime: string;
  leaseTransitions: number;
}

/**
 * What we last saw of the lease: its spec as a key, and the local monotonic time at which we first
 * saw that exact spec. Expiry is judged from that time, never from the remote renewTime, so clock
 * skew between nodes cannot make a live lease look expired (or a dead one look live).
 */
export interface Observation {
  key: string;
  at: number;
}

export interface DecideInput {
  /** The lease as just read; undefined if it does not exist. */
  lease: Lease | undefined;
  identity: string;
  /** Local monotonic milliseconds (Clock.now). */
  now: number;
  /** Wall-clock milliseconds, only for the timestamps written (Clock.wallNow). */
  wallNow: number;
  /** Our configured lease duration, written to the lease and used when it carries none. */
  leaseDurationMs: number;
  observed: Observation | undefined;
}

export interface LeaderElectionTimings {
  /** How long followers wait, from when they observe a lease change, before taking an unrenewed lease. */
  leaseDurationMs: number;
  /** How long the leader keeps acting without a successful renewal. */
  renewDeadlineMs: number;
  /** Pause between attempts to acquire (jittered up to ×2.2, as client-go) or to renew. */
  retryPeriodMs: number;
}

export const DEFAULT_LEADER_ELECTION_TIMINGS: LeaderElectionTimings = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/** client-go's: acquisition attempts wait retryPeriod × (1 + up to JITTER_FACTOR). */
export const JITTER_FACTOR = 1.2;

/** Fills in the defaults and checks the timings as client-go does; throws a one-line error. */
export function leaderElectionTimings(given: Partial<LeaderElectionTimings> = {}): LeaderElectionTimings {
  const d = DEFAULT_LEADER_ELECTION_TIMINGS;
  const lease = given.leaseDurationMs ?? d.leaseDurationMs;
  const renew = given.renewDeadlineMs ?? d.renewDeadlineMs;
  const retry = given.retryPeriodMs ?? d.retryPeriodMs;
  const problem = !(lease > 0 && renew > 0 && retry > 0)
    ? 'every duration must be greater than zero'
    : lease <= renew
      ? 'the lease duration must be greater than the renew deadline'
      : renew <= retry * JITTER_FACTOR
        ? `the renew deadline must be greater than the retry period × ${JITTER_FACTOR}`
        : undefined;
  if (problem) {
    throw new Error(
      `invalid leader election timings (lease duration ${lease} ms, renew deadline ${renew} ms, retry period ${retry} ms): ${problem}`,
    );
  }
  return { leaseDurationMs: lease, renewDeadlineMs: renew, retryPeriodMs: retry };
}

export type Decision =
  /** Write `spec` to take the lease: create it (`create`) or take it over from `previousHolder`. */
  | { action: 'acquire'; create: boolean; previousHolder: string; spec: LeaseSpec; observed: Observation }
  /** We hold the lease: write `spec` to renew it. */
  | { action: 'renew'; spec: LeaseSpec; observed: Observation }
  /** `holder` holds a live lease; it expires at local time `expiresAt` unless it changes before then. */
  | { action: 'wait'; holder: string; expiresAt: number; observed: Observation };

/**
 * Whole seconds, as the Lease stores them, rounded up: rounding down would let followers take over
 * before our renew deadline has passed.
 */
export function leaseDurationSeconds(leaseDurationMs: number): number {
  return Math.max(1, Math.ceil(leaseDurationMs / 1000));
}

/** A stable key of a lease's spec, insensitive to field order and to absent vs null fields. */
export function specKey(lease: Lease | undefined): string {
  const s = lease?.spec;
  return JSON.stringify([
    s?.holderIdentity ?? '',
    s?.leaseDurationSeconds ?? 0,
    s?.acquireTime ?? '',
    s?.renewTime ?? '',
    s?.leaseTransitions ?? 0,
  ]);
}

/** Keeps the time of the previous observation if the lease has not changed since; otherwise starts anew. */
export function observe(
  lease: Lease | undefined,
  now: number,
  previous: Observation | undefined,
): Observation {
  const key = specKey(lease);
  return previous?.key === key ? previous : { key, at: now };
}

/** client-go's tryAcquireOrRenew without the I/O: what to write, if anything, given what we read. */
export function decide(input: DecideInput): Decision {
  const { lease, identity, now, wallNow, leaseDurationMs } = input;
  const observed = observe(lease, now, input.observed);
  const spec = lease?.spec ?? {};
  const holder = spec.holderIdentity ?? '';
  const stamp = formatMicroTime(wallNow);
  const durationSeconds = leaseDurationSeconds(leaseDurationMs);
  const transitions = spec.leaseTransitions ?? 0;

  if (holder === identity && holder !== '') {
    const renewed: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: spec.acquireTime ?? stamp,
      renewTime: stamp,
      leaseTransitions: transitions,
    };
    return { action: 'renew', spec: renewed, observed };
  }

  // As client-go: the holder's own lease duration, as written in the lease, decides its expiry.
  const holderDurationMs =
    (spec.leaseDurationSeconds ?? 0) > 0 ? spec.leaseDurationSeconds! * 1000 : leaseDurationMs;
  const expiresAt = observed.at + holderDurationMs;
  if (holder !== '' && now < expiresAt) return { action: 'wait', holder, expiresAt, observed };

  const acquired: LeaseSpec = {
    holderIdentity: identity,
    leaseDurationSeconds: durationSeconds,
    acquireTime: stamp,
    renewTime: stamp,
    leaseTransitions: lease ? transitions + 1 : 0,
  };
  return { action: 'acquire', create: lease === undefined, previousHolder: holder, spec: acquired, observed };
}

/**
 * The spec that gives the lease up (client-go's ReleaseOnCancel): no holder, a 1 s duration and a
 * fresh renewTime, keeping the transition count, so a follower takes over at its next attempt.
 */
export function releaseSpec(current: Lease['spec'] | undefined, wallNow: number): LeaseSpec {
  const stamp = formatMicroTime(wallNow);
  return {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: stamp,
    renewTime: stamp,
    leaseTransitions: current?.leaseTransitions ?? 0,
  };
}
