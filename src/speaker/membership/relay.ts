/**
 * Relaying, after SWIM's indirect probes. A member lists the peers it has not heard directly for
 * `suspectAfterMs` as unheard in its heartbeats; a few other members that do hear such a peer forward
 * its heartbeats, as received and still signed by it, to the member asking. So a broken link between
 * two members (one way or both) does not make either declare the other down while a third hears both.
 * Which members relay for a (requester, subject) pair is decided by rendezvous hashing over the
 * members each relayer hears, so the fan-out stays near `relayFanout` without coordination.
 */
import { type Digest, score } from '../election/hash.js';

const digestOf = (tag: string): Digest => ({
  hi: Number.parseInt(tag.slice(0, 8), 16),
  lo: Number.parseInt(tag.slice(8, 16), 16),
});

/** Whether `self` is among the `fanout` best-ranked relayers for `subject`'s heartbeats to `requester`. */
export function isChosenRelayer(
  selfTag: string,
  requesterTag: string,
  subjectTag: string,
  candidateTags: Iterable<string>,
  fanout: number,
): boolean {
  if (fanout <= 0) return false;
  const r = digestOf(requesterTag);
  const s = digestOf(subjectTag);
  const pair: Digest = { hi: (r.hi ^ s.lo) >>> 0, lo: (r.lo ^ s.hi) >>> 0 };
  const mine = score(pair, digestOf(selfTag));
  let better = 0;
  for (const tag of candidateTags) {
    if (tag === selfTag || tag === requesterTag || tag === subjectTag) continue;
    const theirs = score(pair, digestOf(tag));
    if (theirs > mine || (theirs === mine && tag < selfTag)) better++;
    if (better >= fanout) return false;
  }
  return true;
}

/** Who asked for whose heartbeats: subject tag → names of the requesting members. */
export class RelayRequests {
  private readonly bySubject = new Map<string, Set<string>>();
  private readonly byRequester = new Map<string, ReadonlySet<string>>();

  /** Replaces `requester`'s requests; returns the subjects it newly asks for. */
  update(requester: string, subjects: ReadonlySet<string>): string[] {
    const before = this.byRequester.get(requester) ?? new Set<string>();
    for (const subject of before) {
      if (!subjects.has(subject)) this.bySubject.get(subject)?.delete(requester);
    }
    const added: string[] = [];
    for (const subject of subjects) {
      if (before.has(subject)) continue;
      added.push(subject);
      const set = this.bySubject.get(subject) ?? new Set<string>();
      set.add(requester);
      this.bySubject.set(subject, set);
    }
    this.byRequester.set(requester, subjects);
    return added;
  }

  requestersOf(subject: string): ReadonlySet<string> {
    return this.bySubject.get(subject) ?? new Set();
  }
}
