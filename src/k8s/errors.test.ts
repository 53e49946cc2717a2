import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ApiError,
  ConnectionError,
  describeConnectionError,
  isAlreadyExists,
  isConflict,
  isForbidden,
  isGone,
  isNotFound,
  KubeconfigError,
  oneLine,
} from './errors.js';

const SERVER = 'https://api.example.test:6443';

function sysError(code: string, message = `${code}: something happened\n    at somewhere`): Error {
  return Object.assign(new Error(message), { code });
}

describe('describeConnectionError', () => {
  const cases: [code: string, pattern: RegExp][] = [
    ['ECONNREFUSED', /connection refused/],
    ['ENOTFOUND', /does not resolve/],
    [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      /certificate-authority does not trust \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/,
    ],
    ['SELF_SIGNED_CERT_IN_CHAIN', /does not trust \(SELF_SIGNED_CERT_IN_CHAIN\)/],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', /does not trust \(DEPTH_ZERO_SELF_SIGNED_CERT\)/],
    ['ERR_TLS_CERT_ALTNAME_INVALID', /certificate for another name/],
  ];

  for (const [code, pattern] of cases) {
    it(`maps ${code} to a one-line ConnectionError naming the server`, () => {
      const cause = sysError(code);
      const err = describeConnectionError(cause, SERVER);
      assert.ok(err instanceof ConnectionError);
      assert.equal(err.name, 'ConnectionError');
      assert.equal(err.code, code);
      assert.equal(err.cause, cause);
      assert.ok(err.message.includes(SERVER), err.message);
      assert.match(err.message, pattern);
      assert.doesNotMatch(err.message, /\n/);
    });
  }

  it('gives each kind of failure a distinct message', () => {
    const messages = [...cases.map(([c]) => c), 'EWHATEVER'].map(
      (c) => describeConnectionError(sysError(c, 'same text'), SERVER).message,
    );
    // The three TLS trust codes share a sentence but name their code, so all stay distinct.
    assert.equal(new Set(messages).size, messages.length);
    const kinds = new Set(
      messages.map((m) =>
        m
          .replace(SERVER, '')
          .replace(/\([A-Z_]+\)/, '')
          .replace('same text', ''),
      ),
    );
    assert.equal(kinds.size, 5, 'refused, unresolvable, untrusted, wrong name, unknown');
  });

  it('passes the text of an unknown error through, on one line, naming the server', () => {
    const err = describeConnectionError(sysError('EPROTO', 'wrong version number'), SERVER);
    assert.equal(err.message, `cannot talk to the API server at ${SERVER}: wrong version number`);
    assert.equal(err.code, 'EPROTO');
    const multi = describeConnectionError(sysError('EPROTO', 'line one\n  line two\n'), SERVER);
    assert.equal(multi.message, `cannot talk to the API server at ${SERVER}: line one line two`);
    const plain = describeConnectionError(new Error('socket hang up'), SERVER);
    assert.equal(plain.code, undefined);
    assert.match(plain.message, /socket hang up/);
    assert.ok(plain.message.includes(SERVER));
  });

  it('handles non-Error values', () => {
    const err = describeConnectionError('boom', SERVER);
    assert.match(err.message, /boom/);
    assert.ok(err.message.includes(SERVER));
    assert.match(describeConnectionError(undefined, SERVER).message, /undefined/);
  });

  it('the altname message keeps the detail of which names the certificate has', () => {
    const cause = sysError(
      'ERR_TLS_CERT_ALTNAME_INVALID',
      "Hostname/IP does not match certificate's altnames",
    );
    assert.match(describeConnectionError(cause, SERVER).message, /altnames/);
  });

  it('covers the other common network codes', () => {
    assert.match(describeConnectionError(sysError('EHOSTUNREACH'), SERVER).message, /no route to host/);
    assert.match(describeConnectionError(sysError('ETIMEDOUT'), SERVER).message, /timed out/);
    assert.match(describeConnectionError(sysError('ECONNRESET'), SERVER).message, /connection reset/);
    assert.match(describeConnectionError(sysError('CERT_HAS_EXPIRED'), SERVER).message, /not valid now/);
  });
});

describe('ApiError predicates', () => {
  const err = (code: number, reason = 'Unknown') => new ApiError(code, reason, `HTTP ${code}`);

  it('isGone: 410, or reason Expired/Gone', () => {
    assert.equal(isGone(err(410)), true);
    assert.equal(isGone(err(500, 'Expired')), true);
    assert.equal(isGone(err(200, 'Gone')), true);
    assert.equal(isGone(err(409, 'Conflict')), false);
    assert.equal(isGone(err(404, 'NotFound')), false);
  });

  it('isConflict: 409 only', () => {
    assert.equal(isConflict(err(409, 'Conflict')), true);
    assert.equal(isConflict(err(409, 'AlreadyExists')), true);
    assert.equal(isConflict(err(410)), false);
    assert.equal(isConflict(err(422, 'Conflict')), false);
  });

  it('isNotFound: 404 only', () => {
    assert.equal(isNotFound(err(404, 'NotFound')), true);
    assert.equal(isNotFound(err(410)), false);
    assert.equal(isNotFound(err(403)), false);
  });

  it('isAlreadyExists and isForbidden', () => {
    assert.equal(isAlreadyExists(err(409, 'AlreadyExists')), true);
    assert.equal(isAlreadyExists(err(409, 'Conflict')), false);
    assert.equal(isForbidden(err(403, 'Forbidden')), true);
    assert.equal(isForbidden(err(401, 'Unauthorized')), false);
  });

  it('none of them match errors that are not ApiErrors, even with the same fields', () => {
    for (const lookalike of [
      { code: 410 },
      Object.assign(new Error('x'), { code: 404 }),
      null,
      undefined,
      'Gone',
    ]) {
      assert.equal(isGone(lookalike), false);
      assert.equal(isNotFound(lookalike), false);
      assert.equal(isConflict(lookalike), false);
    }
  });

  it('keeps code, reason, message and details', () => {
    const e = new ApiError(422, 'Invalid', 'spec.ports: Required value', { name: 'x' });
    assert.equal(e.name, 'ApiError');
    assert.equal(e.code, 422);
    assert.equal(e.reason, 'Invalid');
    assert.equal(e.message, 'spec.ports: Required value');
    assert.deepEqual(e.details, { name: 'x' });
    assert.ok(e instanceof Error);
  });
});

describe('oneLine and KubeconfigError', () => {
  it('oneLine collapses line breaks and surrounding spaces', () => {
    assert.equal(oneLine(new Error('a\n  b\r\n c  \n')), 'a b c');
    assert.equal(oneLine('plain'), 'plain');
    assert.equal(oneLine(42), '42');
  });

  it('KubeconfigError is an Error with its own name', () => {
    const e = new KubeconfigError('x');
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'KubeconfigError');
  });
});
