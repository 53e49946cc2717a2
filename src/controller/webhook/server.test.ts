import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import * as https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:tls';
import { Registry } from 'prom-client';
import type { AdmissionRequest } from './admission-review.js';
import { WebhookServer } from './server.js';
import { createCertificateAuthority, createServingCertificate } from './x509.js';

const HOUR = 3_600_000;

function pair(now = new Date()) {
  const ca = createCertificateAuthority({ commonName: 'portico-test-ca', now, validityMs: HOUR });
  const cert = createServingCertificate(ca, {
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    now,
    validityMs: HOUR,
  });
  return { ca, cert };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

const review = (request: Partial<AdmissionRequest> & { object?: unknown }) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'a1b2',
    kind: { group: '', version: 'v1', kind: 'ConfigMap' },
    resource: { group: '', version: 'v1', resource: 'configmaps' },
    operation: 'CREATE',
    namespace: 'portico-test',
    name: 'cm',
    ...request,
  },
});

describe('webhook server', () => {
  const material = pair();
  const registry = new Registry();
  const server = new WebhookServer({ host: '127.0.0.1', port: 0, registry, maxBodyBytes: 64 * 1024 });
  let port = 0;
  const seen: AdmissionRequest[] = [];

  server.route('/validate', (req) => {
    seen.push(req);
    const data = (req.object as { data?: Record<string, string> } | undefined)?.data ?? {};
    if (data.throw) throw new Error(`boom: ${data.throw}`);
    if (data.reject) return Promise.reject(new Error('async boom'));
    if (data.garbage) return undefined as never;
    if (data.deny) return { allowed: false, message: `deny is ${data.deny}` };
    if (data.invalid) return { allowed: false, code: 422, reason: 'Invalid', message: 'bad field' };
    return { allowed: true, warnings: data.warn ? [data.warn] : undefined };
  });
  server.route('/slow', async () => {
    await sleep(300);
    return { allowed: true };
  });

  before(async () => {
    await assert.rejects(server.listen(), /needs a certificate: call setCertificate\(\) before listen\(\)/);
    server.setCertificate(material.cert.certPem, material.cert.keyPem);
    port = (await server.listen()).port;
  });
  after(() => server.close());

  const call = (
    path: string,
    options: { method?: string; body?: string | Buffer; headers?: Record<string, string>; ca?: string } = {},
  ) =>
    new Promise<Reply>((resolve, reject) => {
      const body = options.body;
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          path,
          method: options.method ?? 'POST',
          ca: options.ca ?? material.ca.certPem,
          agent: false,
          headers: { 'content-type': 'application/json', ...options.headers },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        },
      );
      // A server that answers before reading the whole upload may reset it; the answer is what counts.
      req.on('error', reject);
      req.end(body);
    });

  const post = async (body: unknown, path = '/validate') => {
    const r = await call(path, { body: JSON.stringify(body) });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['content-type'], 'application/json');
    return JSON.parse(r.text) as { apiVersion: string; kind: string; response: Record<string, unknown> };
  };

  it('answers an AdmissionReview with the handler verdict for that uid', async () => {
    const allowed = await post(review({ object: { data: { warn: 'mind the gap' } } }));
    assert.deepEqual(allowed, {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'a1b2', allowed: true, warnings: ['mind the gap'] },
    });
    assert.equal(seen.at(-1)?.namespace, 'portico-test');
    assert.deepEqual(seen.at(-1)?.object, { data: { warn: 'mind the gap' } });

    const denied = await post(review({ uid: 'u-2', object: { data: { deny: 'yes' } } }));
    assert.deepEqual(denied.response, {
      uid: 'u-2',
      allowed: false,
      status: { code: 403, message: 'deny is yes' },
    });
    const invalid = await post(review({ object: { data: { invalid: '1' } } }));
    assert.deepEqual(invalid.response.status, { code: 422, message: 'bad field', reason: 'Invalid' });
  });

  it('turns a handler that throws, rejects or returns nonsense into a denial with the reason, and keeps serving', async () => {
    for (const [data, message] of [
      [{ throw: 'x' }, 'Portico could not check this ConfigMap: boom: x'],
      [{ reject: '1' }, 'Portico could not check this ConfigMap: async boom'],
      [{ garbage: '1' }, 'Portico could not check this ConfigMap: the handler returned no "allowed" verdict'],
    ] as const) {
      const r = await post(review({ object: { data } }));
      assert.deepEqual(r.response, {
        uid: 'a1b2',
        allowed: false,
        status: { code: 500, message, reason: 'InternalError' },
      });
    }
    assert.equal((await post(review({ object: { data: {} } }))).response.allowed, true);
  });

  it('rejects what is not an AdmissionReview POST with a status and one line saying why', async () => {
    const cases: [Promise<Reply>, number, RegExp][] = [
      [call('/validate', { method: 'GET' }), 405, /^GET is not allowed: send an AdmissionReview by POST\n$/],
      [
        call('/validate', { body: '{}', headers: { 'content-type': 'text/plain' } }),
        415,
        /^content type "text\/plain" is not allowed: send application\/json\n$/,
      ],
      [call('/validate', { body: '{"apiVersion":' }), 400, /^the body is not valid JSON: .+\n$/],
      [call('/validate', { body: '[1]' }), 400, /^the body is not a JSON object\n$/],
      [
        call('/validate', {
          body: JSON.stringify({ ...review({}), apiVersion: 'admission.k8s.io/v1beta1' }),
        }),
        400,
        /^expected an admission.k8s.io\/v1 AdmissionReview, got admission.k8s.io\/v1beta1 AdmissionReview\n$/,
      ],
      [call('/validate', { body: JSON.stringify(review({ uid: '' })) }), 400, /request has no uid\n$/],
      [
        call('/validate', { body: JSON.stringify(review({ operation: 'PATCH' as never })) }),
        400,
        /unknown operation "PATCH"/,
      ],
      [call('/nowhere', { body: '{}' }), 404, /^no admission webhook is served at \/nowhere\n$/],
    ];
    for (const [reply, status, text] of cases) {
      const r = await reply;
      assert.equal(r.status, status, r.text);
      assert.match(r.text, text);
    }
    assert.equal((await call('/validate', { method: 'PUT', body: '{}' })).headers.allow, 'POST');
  });

  it('refuses bodies over the limit, whether declared or streamed', async () => {
    const big = Buffer.alloc(64 * 1024 + 1, 0x20);
    const declared = await call('/validate', { body: big });
    assert.equal(declared.status, 413);
    assert.equal(declared.text, `the body is larger than ${64 * 1024} bytes\n`);
    const streamed = await call('/validate', { body: big, headers: { 'transfer-encoding': 'chunked' } });
    assert.equal(streamed.status, 413);
    const justFits = Buffer.from(
      JSON.stringify(review({ object: { data: { pad: 'x'.repeat(60 * 1024) } } })),
    );
    assert.equal((await call('/validate', { body: justFits })).status, 200);
  });

  it('answers health checks over the same port', async () => {
    const r = await call('/healthz', { method: 'GET' });
    assert.deepEqual([r.status, r.text], [200, 'ok\n']);
  });

  it('counts requests by path and result, and times them', async () => {
    const metrics = await registry.getSingleMetricAsString('portico_webhook_requests_total');
    const count = (result: string) =>
      Number(new RegExp(`path="/validate",result="${result}"} (\\d+)`).exec(metrics)?.[1] ?? 'NaN');
    assert.ok(count('allowed') >= 3, metrics);
    assert.ok(count('denied') >= 2, metrics);
    assert.ok(count('error') >= 10, metrics);
    const histogram = await registry.getSingleMetricAsString('portico_webhook_request_duration_seconds');
    assert.match(histogram, /portico_webhook_request_duration_seconds_count\{path="\/validate"\} \d+/);
  });

  it('swaps to a new certificate for new connections without a restart, and refuses a broken pair', async () => {
    const fingerprint = () =>
      new Promise<string>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
          resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
          socket.end();
        });
        socket.on('error', reject);
      });
    const before = await fingerprint();
    assert.equal(before, new X509Certificate(material.cert.certPem).fingerprint256);

    const next = pair();
    server.setCertificate(next.cert.certPem, next.cert.keyPem);
    assert.equal(await fingerprint(), new X509Certificate(next.cert.certPem).fingerprint256);
    const viaNewCa = await call('/validate', { body: JSON.stringify(review({})), ca: next.ca.certPem });
    assert.equal(viaNewCa.status, 200);
    await assert.rejects(call('/validate', { body: '{}', ca: material.ca.certPem }), {
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });

    assert.throws(
      () => server.setCertificate(material.cert.certPem, next.cert.keyPem),
      /the webhook serving certificate cannot be used: .*key values mismatch/,
    );
    assert.equal(await fingerprint(), new X509Certificate(next.cert.certPem).fingerprint256, 'unchanged');
    server.setCertificate(material.cert.certPem, material.cert.keyPem);
  });

  it('lets a request in flight finish when closing', async () => {
    const other = new WebhookServer({ host: '127.0.0.1', port: 0 });
    other.route('/slow', async () => {
      await sleep(300);
      return { allowed: true };
    });
    other.setCertificate(material.cert.certPem, material.cert.keyPem);
    const { port: otherPort } = await other.listen();
    const answer = new Promise<number>((resolve, reject) => {
      https
        .request(
          {
            host: '127.0.0.1',
            port: otherPort,
            path: '/slow',
            method: 'POST',
            ca: material.ca.certPem,
            agent: false,
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        )
        .on('error', reject)
        .end(JSON.stringify(review({})));
    });
    await sleep(100);
    const started = performance.now();
    await other.close();
    assert.equal(await answer, 200);
    assert.ok(performance.now() - started >= 150, 'close waited for the request');
  });
});
