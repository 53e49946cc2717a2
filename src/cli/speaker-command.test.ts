import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MissingCapabilityError } from '../native/errors.js';
import { FakeHost } from '../native/fake.js';
import type { NetworkIo } from '../native/types.js';
import { parseComponentFlags } from './component-flags.js';
import { CliError } from './connect.js';
import { checkRawSockets, SPEAKER_FLAGS, speakerSettings } from './speaker-command.js';

const defaults = { metricsPort: 7473, leaderElect: false, leaseName: '', flags: SPEAKER_FLAGS };
const settings = (args: string[], env: Record<string, string> = { NODE_NAME: 'node-1' }) =>
  speakerSettings(parseComponentFlags(args, defaults), env);

describe('portico speaker flags', () => {
  it('defaults: the node from NODE_NAME, heartbeats on 7947 every 100 ms with a 300 ms timeout, revertive', () => {
    const s = settings([], { NODE_NAME: 'node-1', POD_NAMESPACE: 'lb' });
    assert.equal(s.nodeName, 'node-1');
    assert.equal(s.namespace, 'lb');
    assert.equal(s.membershipPort, 7947);
    assert.equal(s.membershipSecret, 'portico-memberlist');
    assert.deepEqual([s.intervalMs, s.timeoutMs, s.placement], [100, 300, 'revertive']);
    assert.equal(settings(['--placement', 'non-revertive']).placement, 'nonRevertive');
  });

  it('rejects each mistake with one line naming the flag', () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [[], {}, /Pass --node-name or set NODE_NAME/],
      [['--membership-port', '70000'], { NODE_NAME: 'n' }, /--membership-port must be a port/],
      [['--placement', 'sticky'], { NODE_NAME: 'n' }, /--placement must be revertive or non-revertive/],
      [['--membership-timeout', 'soon'], { NODE_NAME: 'n' }, /^--membership-timeout: /],
      [
        ['--membership-interval', '1s', '--membership-timeout', '300ms'],
        { NODE_NAME: 'n' },
        /the interval must be shorter than suspectAfter/,
      ],
      [['--ignore-exclude-label', 'yes'], { NODE_NAME: 'n' }, /--ignore-exclude-label must be true or false/],
    ];
    for (const [args, env, message] of cases) {
      assert.throws(
        () => settings(args, env),
        (err: unknown) => err instanceof CliError && message.test(err.message) && !err.message.includes('\n'),
        args.join(' '),
      );
    }
  });

  it('stops at once, in one line, when CAP_NET_RAW is missing', () => {
    const io = new FakeHost('node');
    const denied: NetworkIo = Object.assign(Object.create(io) as FakeHost, {
      openPacket: () => {
        throw new MissingCapabilityError('opening a packet socket on lo', 'CAP_NET_RAW');
      },
    });
    assert.throws(() => checkRawSockets(denied), {
      message: /^CAP_NET_RAW is missing: L2 mode answers ARP and NDP through raw sockets/,
      exitCode: 2,
    });
  });
});
