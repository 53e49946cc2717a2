import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  asCapabilityError,
  MissingCapabilityError,
  needing,
  socketSetupError,
  systemError,
} from './errors.js';

describe('native errors', () => {
  it('systemError is shaped like Node system errors', () => {
    const error = systemError('EPERM', 'socket', '(AF_PACKET)');
    assert.equal(error.message, 'socket EPERM (AF_PACKET)');
    assert.equal(error.code, 'EPERM');
    assert.equal(error.errno, -1);
    assert.equal(error.syscall, 'socket');
  });

  it('EPERM and EACCES become one-line MissingCapabilityErrors; other errors pass through', () => {
    const denied = asCapabilityError(
      systemError('EACCES', 'socket'),
      'opening a packet socket on eth0',
      'CAP_NET_RAW',
    );
    assert.ok(denied instanceof MissingCapabilityError);
    assert.equal(
      denied.message,
      'opening a packet socket on eth0 needs CAP_NET_RAW (run the speaker with that capability)',
    );
    assert.equal(denied.code, 'EACCES');
    assert.equal((denied.cause as Error).message, 'socket EACCES');
    const other = systemError('ENODEV', 'bind');
    assert.equal(asCapabilityError(other, 'x', 'CAP_NET_RAW'), other);
    assert.throws(
      () =>
        needing('opening an ICMPv6 socket on eth0', 'CAP_NET_RAW', () => {
          throw systemError('EPERM', 'socket');
        }),
      MissingCapabilityError,
    );
    assert.equal(
      needing('x', 'CAP_NET_RAW', () => 42),
      42,
    );
  });

  it('socketSetupError names the capability a bind or a device binding needs', () => {
    const bind = socketSetupError(systemError('EACCES', 'bind'), 'TCP', { address: '192.0.2.1', port: 179 });
    assert.equal(
      (bind as Error).message,
      'binding TCP port 179 of 192.0.2.1 needs CAP_NET_BIND_SERVICE (run the speaker with that capability)',
    );
    const device = socketSetupError(systemError('EPERM', 'setsockopt'), 'UDP', { bindDevice: 'eth0' });
    assert.equal(
      (device as Error).message,
      'binding a UDP socket to eth0 needs CAP_NET_RAW (run the speaker with that capability)',
    );
    const plain = systemError('EPERM', 'setsockopt');
    assert.equal(socketSetupError(plain, 'UDP', {}), plain);
  });
});
