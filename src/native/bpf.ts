// Classic BPF (Linux socket filters): instruction builders, and an interpreter of the common
// subset so the fake packet sockets filter exactly as the kernel would.
import type { BpfInstruction } from './types.js';

// Opcode parts, from linux/filter.h.
const LD = 0x00;
const LDX = 0x01;
const ALU = 0x04;
const JMP = 0x05;
const RET = 0x06;
const MISC = 0x07;
const W = 0x00;
const H = 0x08;
const B = 0x10;
const ABS = 0x20;
const IND = 0x40;
const LEN = 0x80;
const IMM = 0x00;
const MSH = 0xa0;
const K = 0x00;
const X = 0x08;
const A = 0x10;

const ALU_OPS = {
  add: 0x00,
  sub: 0x10,
  mul: 0x20,
  or: 0x40,
  and: 0x50,
  lsh: 0x60,
  rsh: 0x70,
  xor: 0xa0,
} as const;
const JUMPS = { jeq: 0x10, jgt: 0x20, jge: 0x30, jset: 0x40 } as const;

/** The largest snap length: "accept the whole packet". */
export const ACCEPT_ALL = 0x40000;

export const bpf = {
  /** A = packet[k] (byte, half word or word, big endian). */
  loadByte: (k: number): BpfInstruction => [LD | B | ABS, 0, 0, k],
  loadHalf: (k: number): BpfInstruction => [LD | H | ABS, 0, 0, k],
  loadWord: (k: number): BpfInstruction => [LD | W | ABS, 0, 0, k],
  loadLength: (): BpfInstruction => [LD | W | LEN, 0, 0, 0],
  /** If A == k, skip jt instructions, else skip jf. */
  jumpIfEqual: (k: number, jt: number, jf: number): BpfInstruction => [JMP | JUMPS.jeq | K, jt, jf, k],
  jumpIfGreater: (k: number, jt: number, jf: number): BpfInstruction => [JMP | JUMPS.jgt | K, jt, jf, k],
  jumpIfSet: (k: number, jt: number, jf: number): BpfInstruction => [JMP | JUMPS.jset | K, jt, jf, k],
  and: (k: number): BpfInstruction => [ALU | ALU_OPS.and | K, 0, 0, k],
  /** Accept (the first `snapLength` bytes of) the packet. */
  accept: (snapLength: number = ACCEPT_ALL): BpfInstruction => [RET | K, 0, 0, snapLength],
  reject: (): BpfInstruction => [RET | K, 0, 0, 0],
};

/** A filter passing only frames whose 16-bit field at `offset` is one of `values`. */
export function halfWordFilter(offset: number, values: readonly number[]): BpfInstruction[] {
  const program: BpfInstruction[] = [bpf.loadHalf(offset)];
  values.forEach((value, i) => {
    program.push(bpf.jumpIfEqual(value, values.length - i, 0));
  });
  program.push(bpf.reject(), bpf.accept());
  return program;
}

export class BpfError extends Error {
  override readonly name = 'BpfError';
}

/**
 * Runs `program` on `packet` as Linux does: returns how many bytes to keep (0 = drop). Loads past
 * the end of the packet drop it. Throws BpfError on an instruction outside the supported subset
 * (loads ABS/IND/LEN/IMM, LDX IMM/LEN/MSH, ALU with K or X, jumps, RET, TAX/TXA).
 */
export function runBpf(program: readonly BpfInstruction[], packet: Uint8Array): number {
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const load = (size: number, offset: number): number | undefined => {
    if (offset < 0 || offset + size > packet.length) return undefined;
    if (size === 1) return view.getUint8(offset);
    return size === 2 ? view.getUint16(offset) : view.getUint32(offset);
  };
  let a = 0;
  let x = 0;
  for (let pc = 0; pc < program.length; pc++) {
    const [code, jt, jf, k] = program[pc]!;
    const cls = code & 0x07;
    const size = { [W]: 4, [H]: 2, [B]: 1 }[code & 0x18] ?? 0;
    const mode = code & 0xe0;
    if (cls === LD) {
      if (mode === IMM) a = k;
      else if (mode === LEN) a = packet.length;
      else if (mode === ABS || mode === IND) {
        const value = load(size, (mode === IND ? x : 0) + k);
        if (value === undefined) return 0;
        a = value;
      } else throw new BpfError(`unsupported BPF load at ${pc}: 0x${code.toString(16)}`);
    } else if (cls === LDX) {
      if (mode === IMM) x = k;
      else if (mode === LEN) x = packet.length;
      else if (mode === MSH) {
        const value = load(1, k);
        if (value === undefined) return 0;
        x = (value & 0x0f) * 4;
      } else throw new BpfError(`unsupported BPF load at ${pc}: 0x${code.toString(16)}`);
    } else if (cls === ALU) {
      a = alu(code & 0xf0, a, code & X ? x : k, pc);
    } else if (cls === JMP) {
      const op = code & 0xf0;
      if (op === 0x00) {
        pc += k;
        continue;
      }
      const operand = code & X ? x : k;
      const taken =
        op === JUMPS.jeq
          ? a === operand
          : op === JUMPS.jgt
            ? a > operand
            : op === JUMPS.jge
              ? a >= operand
              : op === JUMPS.jset
                ? (a & operand) !== 0
                : unsupported(code, pc);
      pc += taken ? jt : jf;
    } else if (cls === RET) {
      const result = (code & 0x18) === A ? a : k;
      return Math.min(result >>> 0, packet.length);
    } else if (cls === MISC) {
      if (code & 0x80) a = x;
      else x = a;
    } else {
      unsupported(code, pc);
    }
  }
  return 0;
}

function alu(op: number, a: number, operand: number, pc: number): number {
  switch (op) {
    case ALU_OPS.add:
      return (a + operand) >>> 0;
    case ALU_OPS.sub:
      return (a - operand) >>> 0;
    case ALU_OPS.mul:
      return Math.imul(a, operand) >>> 0;
    case ALU_OPS.or:
      return (a | operand) >>> 0;
    case ALU_OPS.and:
      return (a & operand) >>> 0;
    case ALU_OPS.lsh:
      return (a << operand) >>> 0;
    case ALU_OPS.rsh:
      return a >>> operand;
    case ALU_OPS.xor:
      return (a ^ operand) >>> 0;
    default:
      return unsupported(ALU | op, pc);
  }
}

function unsupported(code: number, pc: number): never {
  throw new BpfError(`unsupported BPF instruction at ${pc}: 0x${code.toString(16)}`);
}
