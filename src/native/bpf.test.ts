import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACCEPT_ALL, BpfError, bpf, halfWordFilter, runBpf } from './bpf.js';
import type { BpfInstruction } from './types.js';

const packet = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);

describe('runBpf', () => {
  it('halfWordFilter passes only the listed values of a 16-bit field', () => {
    const arpOpcodes = halfWordFilter(2, [1, 2]);
    assert.deepEqual(arpOpcodes, [
      [0x28, 0, 0, 2],
      [0x15, 2, 0, 1],
      [0x15, 1, 0, 2],
      [0x06, 0, 0, 0],
      [0x06, 0, 0, ACCEPT_ALL],
    ]);
    assert.equal(runBpf(arpOpcodes, packet(0, 0, 0, 1)), 4);
    assert.equal(runBpf(arpOpcodes, packet(0, 0, 0, 2)), 4);
    assert.equal(runBpf(arpOpcodes, packet(0, 0, 0, 3)), 0);
  });

  it('drops the packet on a load past its end, and truncates to the returned length', () => {
    assert.equal(runBpf([bpf.loadWord(2), bpf.accept()], packet(1, 2, 3, 4, 5)), 0);
    assert.equal(runBpf([bpf.loadByte(4), bpf.accept(3)], packet(1, 2, 3, 4, 5)), 3);
    assert.equal(runBpf([bpf.loadLength(), [0x16, 0, 0, 0]], packet(1, 2, 3)), 3, 'ret A');
  });

  it('supports jumps over K, ALU, LDX MSH with indirect loads, and TAX/TXA', () => {
    // IPv4 header (IHL 5) then the UDP destination port at offset 2 of the transport header.
    const ip = new Uint8Array(24);
    ip[0] = 0x45;
    ip[22] = 0x0e;
    ip[23] = 0xc8; // port 3784
    const program: BpfInstruction[] = [
      [0xb1, 0, 0, 0], // ldx 4 * ([0] & 0xf)
      [0x48, 0, 0, 2], // ldh [x + 2]
      bpf.jumpIfEqual(3784, 0, 1),
      bpf.accept(),
      bpf.reject(),
    ];
    assert.equal(runBpf(program, ip), 24);
    assert.equal(
      runBpf([bpf.loadByte(0), bpf.and(0x0f), bpf.jumpIfGreater(4, 1, 0), bpf.reject(), bpf.accept(1)], ip),
      1,
    );
    assert.equal(runBpf([bpf.loadByte(0), bpf.jumpIfSet(0x40, 0, 1), bpf.accept(2), bpf.reject()], ip), 2);
    assert.equal(
      runBpf(
        [
          [0x00, 0, 0, 7],
          [0x07, 0, 0, 0],
          [0x00, 0, 0, 0],
          [0x87, 0, 0, 0],
          [0x16, 0, 0, 0],
        ],
        ip,
      ),
      7,
    );
    assert.equal(runBpf([[0x05, 0, 0, 1], bpf.reject(), bpf.accept(5)], ip), 5, 'ja');
  });

  it('falls off the end as a drop, and refuses instructions it does not know', () => {
    assert.equal(runBpf([bpf.loadByte(0)], packet(1)), 0);
    assert.throws(() => runBpf([[0x61, 0, 0, 0], bpf.accept()], packet(1)), BpfError);
  });
});
