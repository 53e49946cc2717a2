// A set of bigints kept as disjoint, non-adjacent inclusive intervals in a join-based AVL tree
// (Blelloch, Ferizovic and Sun, "Just Join for Parallel Ordered Sets", 2016). Ranged add and
// delete are one split into (before, touched, after) plus joins, so every operation is O(log n)
// in the number of intervals, whatever the number of values: a full IPv6 /64 is one node.

interface Node {
  first: bigint;
  last: bigint;
  left: Node | null;
  right: Node | null;
  height: number;
  /** Values in this subtree. */
  sum: bigint;
  /** Intervals in this subtree. */
  count: number;
}

type Tree = Node | null;

const heightOf = (t: Tree): number => (t ? t.height : 0);
const sumOf = (t: Tree): bigint => (t ? t.sum : 0n);
const countOf = (t: Tree): number => (t ? t.count : 0);

function leaf(first: bigint, last: bigint): Node {
  return { first, last, left: null, right: null, height: 1, sum: last - first + 1n, count: 1 };
}

/** Makes `k` the root over `left` and `right` (reusing the node) and recomputes its fields. */
function node(left: Tree, k: Node, right: Tree): Node {
  k.left = left;
  k.right = right;
  k.height = Math.max(heightOf(left), heightOf(right)) + 1;
  k.sum = sumOf(left) + sumOf(right) + (k.last - k.first + 1n);
  k.count = countOf(left) + countOf(right) + 1;
  return k;
}

function rotateLeft(t: Node): Node {
  const r = t.right!;
  return node(node(t.left, t, r.left), r, r.right);
}

function rotateRight(t: Node): Node {
  const l = t.left!;
  return node(l.left, l, node(l.right, t, t.right));
}

// Joins where `left` is more than one level taller than `right`: walk down left's right spine.
function joinRight(left: Node, k: Node, right: Tree): Node {
  const c = left.right;
  if (heightOf(c) <= heightOf(right) + 1) {
    const t = node(c, k, right);
    if (t.height <= heightOf(left.left) + 1) return node(left.left, left, t);
    return rotateLeft(node(left.left, left, rotateRight(t)));
  }
  const t = joinRight(c!, k, right);
  const joined = node(left.left, left, t);
  return t.height <= heightOf(left.left) + 1 ? joined : rotateLeft(joined);
}

function joinLeft(left: Tree, k: Node, right: Node): Node {
  const c = right.left;
  if (heightOf(c) <= heightOf(left) + 1) {
    const t = node(left, k, c);
    if (t.height <= heightOf(right.right) + 1) return node(t, right, right.right);
    return rotateRight(node(rotateLeft(t), right, right.right));
  }
  const t = joinLeft(left, k, c!);
  const joined = node(t, right, right.right);
  return t.height <= heightOf(right.right) + 1 ? joined : rotateRight(joined);
}

/** A balanced tree of everything in `left`, then `k`, then everything in `right` (already in order). */
function join(left: Tree, k: Node, right: Tree): Node {
  if (heightOf(left) > heightOf(right) + 1) return joinRight(left!, k, right);
  if (heightOf(right) > heightOf(left) + 1) return joinLeft(left, k, right!);
  return node(left, k, right);
}

function splitLast(t: Node): [Tree, Node] {
  if (!t.right) return [t.left, t];
  const [rest, last] = splitLast(t.right);
  return [join(t.left, t, rest), last];
}

function join2(left: Tree, right: Tree): Tree {
  if (!left) return right;
  const [rest, last] = splitLast(left);
  return join(rest, last, right);
}

/** Splits into the nodes for which `before` holds (a prefix of the in-order sequence) and the rest. */
function split(t: Tree, before: (n: Node) => boolean): [Tree, Tree] {
  if (!t) return [null, null];
  if (before(t)) {
    const [l, r] = split(t.right, before);
    return [join(t.left, t, l), r];
  }
  const [l, r] = split(t.left, before);
  return [l, join(r, t, t.right)];
}

function leftmost(t: Node): Node {
  let n = t;
  while (n.left) n = n.left;
  return n;
}

function rightmost(t: Node): Node {
  let n = t;
  while (n.right) n = n.right;
  return n;
}

/** The interval containing `value`, if any. */
function find(t: Tree, value: bigint): Node | undefined {
  let n = t;
  while (n) {
    if (value < n.first) n = n.left;
    else if (value > n.last) n = n.right;
    else return n;
  }
  return undefined;
}

function checkRange(first: bigint, last: bigint): void {
  if (last < first) throw new RangeError(`interval [${first}, ${last}] is reversed`);
}

/**
 * The greatest height an AVL tree of `n` nodes can have (about 1.44 log2(n + 2)): the largest h
 * whose sparsest AVL tree, with N(h) = N(h - 1) + N(h - 2) + 1 nodes, still fits in n.
 */
export function avlHeightBound(n: number): number {
  let [height, fewest, fewestBelow] = [0, 0, 0];
  for (;;) {
    const next = height === 0 ? 1 : fewest + fewestBelow + 1;
    if (next > n) return height;
    [height, fewest, fewestBelow] = [height + 1, next, fewest];
  }
}

export class IntervalSet {
  private root: Tree = null;
  /** Bumped on every change, so an iterator can tell it went stale. */
  private version = 0;

  /** Adds [first,last]; returns how many values were newly added. */
  add(first: bigint, last: bigint = first): bigint {
    checkRange(first, last);
    const containing = find(this.root, first);
    if (containing && containing.last >= last) return 0n;
    // Everything ending before first - 1 stays left, everything starting after last + 1 stays right;
    // what is between overlaps or touches [first,last] and merges with it.
    const [before, rest] = split(this.root, (n) => n.last + 1n < first);
    const [touched, after] = split(rest, (n) => n.first <= last + 1n);
    const merged = leaf(
      touched && leftmost(touched).first < first ? leftmost(touched).first : first,
      touched && rightmost(touched).last > last ? rightmost(touched).last : last,
    );
    // Read before joining: join reuses the node and its sum becomes the whole tree's.
    const added = merged.sum - sumOf(touched);
    this.root = join(before, merged, after);
    this.version++;
    return added;
  }

  /** Removes [first,last]; returns how many values were removed. */
  delete(first: bigint, last: bigint = first): bigint {
    checkRange(first, last);
    const present = this.firstPresentFrom(first);
    if (present === undefined || present > last) return 0n;
    const [before, rest] = split(this.root, (n) => n.last < first);
    const [touched, after] = split(rest, (n) => n.first <= last);
    if (!touched) throw new Error('IntervalSet: no interval meets a range known to hold values');
    let kept = before;
    let keptValues = 0n;
    const low = leftmost(touched);
    if (low.first < first) {
      const piece = leaf(low.first, first - 1n);
      keptValues += piece.sum;
      kept = join(kept, piece, null);
    }
    const high = rightmost(touched);
    if (high.last > last) {
      const piece = leaf(last + 1n, high.last);
      keptValues += piece.sum;
      this.root = join(kept, piece, after);
    } else {
      this.root = join2(kept, after);
    }
    this.version++;
    return touched.sum - keptValues;
  }

  has(value: bigint): boolean {
    return find(this.root, value) !== undefined;
  }

  /** Lowest value >= from that is NOT in the set (unbounded above, so there always is one). */
  firstAbsentFrom(from: bigint): bigint {
    // Intervals never touch, so the value after the containing interval is absent.
    const n = find(this.root, from);
    return n ? n.last + 1n : from;
  }

  /** Lowest value >= from that IS in the set, or undefined. */
  firstPresentFrom(from: bigint): bigint | undefined {
    let candidate: Node | undefined;
    let n = this.root;
    while (n) {
      if (n.last >= from) {
        candidate = n;
        n = n.left;
      } else {
        n = n.right;
      }
    }
    if (!candidate) return undefined;
    return candidate.first > from ? candidate.first : from;
  }

  /** Number of values of the set within [first,last]. */
  countIn(first: bigint, last: bigint): bigint {
    if (last < first) return 0n;
    return this.countUpTo(last) - this.countUpTo(first - 1n);
  }

  /** Number of values in the set. */
  get size(): bigint {
    return sumOf(this.root);
  }

  get intervalCount(): number {
    return countOf(this.root);
  }

  /** Height of the tree (0 when empty); at most avlHeightBound(intervalCount). */
  get height(): number {
    return heightOf(this.root);
  }

  /** Ascending [first, last] pairs. Changing the set while iterating makes the iterator throw. */
  *intervals(): IterableIterator<[bigint, bigint]> {
    const version = this.version;
    const stack: Node[] = [];
    let n = this.root;
    while (n || stack.length > 0) {
      while (n) {
        stack.push(n);
        n = n.left;
      }
      const top = stack.pop()!;
      yield [top.first, top.last];
      if (this.version !== version) throw new Error('IntervalSet changed during iteration');
      n = top.right;
    }
  }

  clear(): void {
    this.root = null;
    this.version++;
  }

  /**
   * Throws if the tree breaks any invariant: in-order intervals disjoint and non-adjacent, each
   * first <= last, AVL balance, and cached heights, sums and counts. O(n); for tests.
   */
  assertInvariants(): void {
    let previous: Node | undefined;
    const visit = (t: Tree): void => {
      if (!t) return;
      visit(t.left);
      if (t.first > t.last) throw new Error(`node [${t.first}, ${t.last}] is reversed`);
      if (previous && previous.last + 1n >= t.first) {
        throw new Error(`[${previous.first}, ${previous.last}] and [${t.first}, ${t.last}] overlap or touch`);
      }
      previous = t;
      visit(t.right);
      const [hl, hr] = [heightOf(t.left), heightOf(t.right)];
      if (Math.abs(hl - hr) > 1)
        throw new Error(`node [${t.first}, ${t.last}] is unbalanced (${hl} vs ${hr})`);
      if (t.height !== Math.max(hl, hr) + 1)
        throw new Error(`node [${t.first}, ${t.last}] has a stale height`);
      if (t.sum !== sumOf(t.left) + sumOf(t.right) + t.last - t.first + 1n) {
        throw new Error(`node [${t.first}, ${t.last}] has a stale sum`);
      }
      if (t.count !== countOf(t.left) + countOf(t.right) + 1) {
        throw new Error(`node [${t.first}, ${t.last}] has a stale count`);
      }
    };
    visit(this.root);
  }

  /** Values of the set that are <= x. */
  private countUpTo(x: bigint): bigint {
    let total = 0n;
    let n = this.root;
    while (n) {
      if (x < n.first) {
        n = n.left;
      } else if (x >= n.last) {
        total += sumOf(n.left) + (n.last - n.first + 1n);
        n = n.right;
      } else {
        return total + sumOf(n.left) + (x - n.first + 1n);
      }
    }
    return total;
  }
}
