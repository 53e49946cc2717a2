import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { Heap } from './heap.js';

it('Heap pops in order, whatever the pushes', () => {
  fc.assert(
    fc.property(fc.array(fc.integer()), (values) => {
      const heap = new Heap<number>((a, b) => a < b);
      for (const v of values) heap.push(v);
      assert.equal(heap.size, values.length);
      const popped: number[] = [];
      for (let v = heap.pop(); v !== undefined; v = heap.pop()) popped.push(v);
      assert.deepEqual(
        popped,
        [...values].sort((a, b) => a - b),
      );
      assert.equal(heap.peek(), undefined);
    }),
  );
});
