/**
 * Capacity-bounded assignment by deferred acceptance (Gale–Shapley with IPs proposing). Each IP proposes
 * to its candidate nodes in rendezvous order; a node keeps the IPs it prefers up to its room and rejects
 * the rest, which propose to their next choice. The result is the IP-optimal stable matching: it does
 * not depend on the order in which IPs propose, only on the preferences, which are pure functions of
 * hashes. So every speaker computes the same answer from the same inputs.
 *
 * A node prefers IPs with fewer candidates (they have nowhere else to go), then by its own score for the
 * IP, then by the IP's text. With uniform eligibility that is plain score order, and the matching is the
 * unique stable one: "each node keeps the IPs that rank it highest".
 */

import { ranksAbove } from './hash.js';
import { Heap } from './heap.js';

export interface Proposer {
  /** Indices (into the node list) of the nodes that may take it. */
  readonly nodes: readonly number[];
  /** `scores[j]` is the rendezvous score of `nodes[j]` for this proposer. */
  readonly scores: readonly number[];
  /** The canonical IP, the final tie-break of node preferences. */
  readonly key: string;
}

interface Held {
  proposer: number;
  score: number;
}

/**
 * Places each proposer on one of its nodes without exceeding `room[node]` IPs per node, or leaves it
 * out (-1) when every candidate is full of IPs it prefers.
 */
export function stableAssignment(
  proposers: readonly Proposer[],
  nodeNames: readonly string[],
  room: readonly number[],
): Int32Array {
  const owner = new Int32Array(proposers.length).fill(-1);
  // Position (into `nodes`) of the last candidate each proposer tried; -1 before its first proposal.
  const lastTried = new Int32Array(proposers.length).fill(-1);
  const worstFirst = (a: Held, b: Held): boolean => prefers(proposers, b, a);
  const held = nodeNames.map(() => new Heap<Held>(worstFirst));

  const free: number[] = [];
  for (let p = proposers.length - 1; p >= 0; p--) free.push(p);
  for (let p = free.pop(); p !== undefined; p = free.pop()) {
    const proposer = proposers[p]!;
    const j = nextChoice(proposer, lastTried[p]!, nodeNames);
    if (j < 0) continue;
    lastTried[p] = j;
    const node = proposer.nodes[j]!;
    const offer: Held = { proposer: p, score: proposer.scores[j]! };
    const heap = held[node]!;
    if (heap.size < room[node]!) {
      heap.push(offer);
      owner[p] = node;
      continue;
    }
    const worst = heap.peek();
    if (worst && prefers(proposers, offer, worst)) {
      heap.pop();
      owner[worst.proposer] = -1;
      free.push(worst.proposer);
      heap.push(offer);
      owner[p] = node;
    } else {
      free.push(p);
    }
  }
  return owner;
}

/** Whether a node prefers holding `a` to holding `b`. */
function prefers(proposers: readonly Proposer[], a: Held, b: Held): boolean {
  const pa = proposers[a.proposer]!;
  const pb = proposers[b.proposer]!;
  if (pa.nodes.length !== pb.nodes.length) return pa.nodes.length < pb.nodes.length;
  if (a.score !== b.score) return a.score > b.score;
  return pa.key < pb.key;
}

/** The best-ranked candidate strictly below the one at `after` (-1: none tried yet); -1 when exhausted. */
function nextChoice(proposer: Proposer, after: number, nodeNames: readonly string[]): number {
  const { nodes, scores } = proposer;
  const name = (j: number): string => nodeNames[nodes[j]!]!;
  let best = -1;
  for (let j = 0; j < nodes.length; j++) {
    if (after >= 0 && !ranksAbove(scores[after]!, name(after), scores[j]!, name(j))) continue;
    if (best < 0 || ranksAbove(scores[j]!, name(j), scores[best]!, name(best))) best = j;
  }
  return best;
}
