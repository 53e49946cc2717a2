import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appliedCrds } from './install.js';

describe("lab up's install of Portico", () => {
  it('finds the CRDs that `kubectl apply` created or changed, to wait for them before the examples', () => {
    const out = [
      'namespace/portico-system created',
      'customresourcedefinition.apiextensions.k8s.io/ipaddresspools.portico.dev created',
      'customresourcedefinition.apiextensions.k8s.io/l2advertisements.portico.dev unchanged',
      'serviceaccount/portico-controller created',
      'validatingwebhookconfiguration.admissionregistration.k8s.io/portico-validating-webhook configured',
    ].join('\n');
    assert.deepEqual(appliedCrds(out), ['ipaddresspools.portico.dev', 'l2advertisements.portico.dev']);
    assert.deepEqual(appliedCrds('namespace/portico-system unchanged\n'), []);
  });
});
