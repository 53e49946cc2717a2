import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admissionResponse, parseAdmissionReview } from './admission-review.js';

const request = {
  uid: 'u1',
  kind: { group: 'portico.dev', version: 'v1alpha1', kind: 'IPAddressPool' },
  resource: { group: 'portico.dev', version: 'v1alpha1', resource: 'ipaddresspools' },
  operation: 'UPDATE',
  name: 'pool',
  object: { spec: {} },
  oldObject: { spec: {} },
  dryRun: true,
};

describe('AdmissionReview requests', () => {
  it('accepts a v1 review and passes every field through', () => {
    const parsed = parseAdmissionReview({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request,
    });
    assert.deepEqual(parsed, { request });
  });

  it('says in one line what is wrong with anything else', () => {
    const review = (r: unknown) => ({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: r,
    });
    const cases: [unknown, string][] = [
      [null, 'the body is not a JSON object'],
      [
        { apiVersion: 'v1', kind: 'Status' },
        'expected an admission.k8s.io/v1 AdmissionReview, got v1 Status',
      ],
      [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, 'the AdmissionReview has no request'],
      [review({ ...request, uid: 7 }), 'the AdmissionReview request has no uid'],
      [
        review({ ...request, operation: undefined }),
        'the AdmissionReview request has an unknown operation undefined',
      ],
      [review({ ...request, kind: { kind: 'X' } }), 'the AdmissionReview request lacks kind or resource'],
      [review({ ...request, resource: undefined }), 'the AdmissionReview request lacks kind or resource'],
    ];
    for (const [body, error] of cases) assert.deepEqual(parseAdmissionReview(body), { error });
  });
});

describe('AdmissionReview responses', () => {
  const response = (result: Parameters<typeof admissionResponse>[1]) =>
    admissionResponse('u1', result).response;

  it('allows with nothing else, or with warnings', () => {
    assert.deepEqual(admissionResponse('u1', { allowed: true }), {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'u1', allowed: true },
    });
    assert.deepEqual(response({ allowed: true, warnings: ['w'] }), {
      uid: 'u1',
      allowed: true,
      warnings: ['w'],
    });
    assert.deepEqual(response({ allowed: true, warnings: [] }), { uid: 'u1', allowed: true });
  });

  it('denies with 403 and a message unless told otherwise', () => {
    assert.deepEqual(response({ allowed: false }), {
      uid: 'u1',
      allowed: false,
      status: { code: 403, message: 'denied by the Portico webhook' },
    });
    assert.deepEqual(
      response({ allowed: false, code: 422, reason: 'Invalid', message: 'spec.addresses[0]: bad' }),
      {
        uid: 'u1',
        allowed: false,
        status: { code: 422, message: 'spec.addresses[0]: bad', reason: 'Invalid' },
      },
    );
  });
});
