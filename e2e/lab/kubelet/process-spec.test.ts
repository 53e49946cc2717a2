import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Container, Pod } from './pod-types.js';
import { apiServiceEnv, containerProcess, fieldValue, type ProcessContext } from './process-spec.js';

const commands = {
  echo: ['node', 'echo-main.js'],
  portico: ['node', 'bin/portico.js'],
  kubectl: ['/k8s/kubectl'],
};
const ctx: ProcessContext = {
  nodeName: 'node-1',
  hostIP: '192.0.2.11',
  podIPs: ['198.18.1.5', '2001:db8:0:11::5'],
  kubeconfigPath: '/run/portico-lab/pods/uid-1/kubeconfig',
  commands,
};

function pod(container: Partial<Container> = {}, extra: Partial<Pod['spec']> = {}): Pod {
  return {
    metadata: {
      name: 'echo-abc',
      namespace: 'demo',
      uid: 'uid-1',
      labels: { app: 'echo', tier: 'web' },
      annotations: { note: 'say "hi"' },
    },
    spec: {
      nodeName: 'node-1',
      serviceAccountName: 'echo-sa',
      containers: [{ name: 'echo', image: 'portico-lab/echo:1.0', ...container }],
      ...extra,
    },
  };
}

function run(p: Pod, c: ProcessContext = ctx) {
  return containerProcess(p, p.spec.containers[0]!, c);
}

function ok(p: Pod, c: ProcessContext = ctx) {
  const out = run(p, c);
  assert.ok(out.ok, JSON.stringify(out));
  return out;
}

describe('containerProcess: argv', () => {
  it('runs the image entrypoint with no command or args', () => {
    assert.deepEqual(ok(pod()).argv, ['node', 'echo-main.js']);
  });

  it('appends args to the entrypoint', () => {
    assert.deepEqual(ok(pod({ args: ['--port', '8080'] })).argv, ['node', 'echo-main.js', '--port', '8080']);
  });

  it('maps a command naming the image binary, by basename, to the lab command', () => {
    for (const bin of ['echo', 'echo-server', '/usr/local/bin/echo-server']) {
      const out = ok(pod({ command: [bin, '--port', '9000'], args: ['-v'] }));
      assert.deepEqual(out.argv, ['node', 'echo-main.js', '--port', '9000', '-v']);
    }
    const portico = pod({ image: 'ghcr.io/portico-dev/portico:0.1.0', command: ['/portico', 'controller'] });
    assert.deepEqual(ok(portico).argv, ['node', 'bin/portico.js', 'controller']);
  });

  it('refuses a command the image does not have', () => {
    const out = run(pod({ command: ['sh', '-c', 'echo hi'] }));
    assert.equal(out.ok, false);
    assert.ok(!out.ok && out.reason === 'CreateContainerConfigError');
    assert.match(
      !out.ok ? out.message : '',
      /"sh" is not in image portico-lab\/echo:1.0, which runs echo or echo-server/,
    );
    const portico = run(pod({ image: 'ghcr.io/portico-dev/portico', command: ['echo'] }));
    assert.ok(!portico.ok && /which runs portico$/.test(portico.message));
  });

  it('refuses images the lab does not know', () => {
    assert.deepEqual(run(pod({ image: 'nginx:1.27' })), {
      ok: false,
      reason: 'ImageNotSupported',
      message:
        'the lab cannot run image nginx:1.27: it runs portico-lab/echo, portico-lab/kubectl and ghcr.io/portico-dev/portico only',
    });
  });

  it('expands $(VAR) in command and args from the env, with $$ escapes', () => {
    const out = ok(
      pod({
        command: ['echo-server', '--listen=$(POD_IP):$(PORT)'],
        args: ['$$(PORT)', '$(NOPE)', '$(KUBERNETES_SERVICE_HOST)'],
        env: [
          { name: 'PORT', value: '8080' },
          { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        ],
      }),
    );
    assert.deepEqual(out.argv.slice(2), ['--listen=198.18.1.5:8080', '$(PORT)', '$(NOPE)', '198.19.0.1']);
  });

  it('passes workingDir as cwd', () => {
    assert.equal(ok(pod({ workingDir: '/srv' })).cwd, '/srv');
    assert.equal('cwd' in ok(pod()), false);
  });
});

describe('containerProcess: env', () => {
  it('injects the kubernetes Service, HOSTNAME and KUBECONFIG', () => {
    assert.deepEqual(ok(pod()).env, {
      HOSTNAME: 'echo-abc',
      KUBECONFIG: ctx.kubeconfigPath,
      ...apiServiceEnv('198.19.0.1', 443),
    });
    const env = ok(pod(), { ...ctx, apiServiceHost: '10.0.0.1', apiServicePort: 6443 }).env;
    assert.equal(env.KUBERNETES_SERVICE_HOST, '10.0.0.1');
    assert.equal(env.KUBERNETES_SERVICE_PORT, '6443');
    assert.equal(env.KUBERNETES_PORT_6443_TCP_ADDR, '10.0.0.1');
  });

  it('formats the Service link variables like the kubelet', () => {
    assert.deepEqual(apiServiceEnv('2001:db8::1', 443), {
      KUBERNETES_SERVICE_HOST: '2001:db8::1',
      KUBERNETES_SERVICE_PORT: '443',
      KUBERNETES_SERVICE_PORT_HTTPS: '443',
      KUBERNETES_PORT: 'tcp://[2001:db8::1]:443',
      KUBERNETES_PORT_443_TCP: 'tcp://[2001:db8::1]:443',
      KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
      KUBERNETES_PORT_443_TCP_PORT: '443',
      KUBERNETES_PORT_443_TCP_ADDR: '2001:db8::1',
    });
  });

  it('gives hostNetwork Pods the node name as HOSTNAME', () => {
    assert.equal(ok(pod({}, { hostNetwork: true })).env.HOSTNAME, 'node-1');
  });

  it('lets the container override injected variables, under the image env', () => {
    const p = pod({
      env: [
        { name: 'HOSTNAME', value: 'mine' },
        { name: 'PATH', value: '/opt' },
      ],
    });
    const env = ok(p, { ...ctx, imageEnv: { PATH: '/usr/bin', LANG: 'C' } }).env;
    assert.equal(env.HOSTNAME, 'mine');
    assert.equal(env.PATH, '/opt');
    assert.equal(env.LANG, 'C');
  });

  it('expands values from variables defined before them only, and never image env', () => {
    const env = ok(
      pod({
        env: [
          { name: 'B', value: '$(A)-b' },
          { name: 'A', value: 'a' },
          { name: 'C', value: '$(A)-$(B)-$(LANG)' },
          { name: 'D', value: '$$(A)' },
          { name: 'A', value: 'a2' },
          { name: 'E', value: '$(A)' },
          { name: 'F' },
        ],
      }),
      { ...ctx, imageEnv: { LANG: 'C' } },
    ).env;
    assert.deepEqual(
      [env.B, env.C, env.D, env.A, env.E, env.F],
      ['$(A)-b', 'a-$(A)-b-$(LANG)', '$(A)', 'a2', 'a2', ''],
    );
  });

  it('does not expand values taken from refs', () => {
    const p = pod({
      env: [
        { name: 'A', value: 'a' },
        { name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
      ],
    });
    assert.equal(ok(p, { ...ctx, secrets: { s: { k: '$(A)' } } }).env.S, '$(A)');
  });

  it('resolves every supported fieldRef', () => {
    const paths: [string, string][] = [
      ['metadata.name', 'echo-abc'],
      ['metadata.namespace', 'demo'],
      ['metadata.uid', 'uid-1'],
      ["metadata.labels['app']", 'echo'],
      ["metadata.labels['missing']", ''],
      ["metadata.annotations['note']", 'say "hi"'],
      ['metadata.labels', 'app="echo"\ntier="web"'],
      ['metadata.annotations', 'note="say \\"hi\\""'],
      ['spec.nodeName', 'node-1'],
      ['spec.serviceAccountName', 'echo-sa'],
      ['status.hostIP', '192.0.2.11'],
      ['status.hostIPs', '192.0.2.11'],
      ['status.podIP', '198.18.1.5'],
      ['status.podIPs', '198.18.1.5,2001:db8:0:11::5'],
    ];
    const env = paths.map(([fieldPath], i) => ({ name: `V${i}`, valueFrom: { fieldRef: { fieldPath } } }));
    const out = ok(pod({ env })).env;
    paths.forEach(([path, want], i) => {
      assert.equal(out[`V${i}`], want, path);
    });
  });

  it('uses ctx hostIPs and empty pod IPs before the Pod has any', () => {
    const c = { ...ctx, hostIPs: ['192.0.2.11', '2001:db8:0:1::11'], podIPs: [] };
    assert.equal(fieldValue(pod(), 'status.hostIPs', c), '192.0.2.11,2001:db8:0:1::11');
    assert.equal(fieldValue(pod(), 'status.podIP', c), '');
    assert.equal(
      fieldValue(pod({}, { serviceAccountName: undefined }), 'spec.serviceAccountName', c),
      'default',
    );
  });

  it('refuses unknown fieldPaths and value sources', () => {
    const bad = run(pod({ env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.bogus' } } }] }));
    assert.ok(!bad.ok && bad.reason === 'CreateContainerConfigError' && /spec\.bogus/.test(bad.message));
    const res = run(
      pod({ env: [{ name: 'X', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } }] }),
    );
    assert.ok(!res.ok && /env X/.test(res.message));
  });

  it('reads secret and ConfigMap keys, and names what is missing', () => {
    const env = [
      { name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'token' } } },
      { name: 'C', valueFrom: { configMapKeyRef: { name: 'c', key: 'mode' } } },
    ];
    const secrets = { s: { token: 't0k' } };
    const configMaps = { c: { mode: 'fast' } };
    const out = ok(pod({ env }), { ...ctx, secrets, configMaps }).env;
    assert.deepEqual([out.S, out.C], ['t0k', 'fast']);
    const cases: [ProcessContext, string][] = [
      [{ ...ctx, configMaps }, 'secret "s" not found'],
      [{ ...ctx, secrets: { s: {} }, configMaps }, "couldn't find key token in Secret demo/s"],
      [{ ...ctx, secrets }, 'configmap "c" not found'],
      [{ ...ctx, secrets, configMaps: { c: { other: 'x' } } }, "couldn't find key mode in ConfigMap demo/c"],
    ];
    for (const [c, message] of cases) {
      assert.deepEqual(run(pod({ env }), c), { ok: false, reason: 'CreateContainerConfigError', message });
    }
  });

  it('leaves optional missing keys unset', () => {
    const env = [
      { name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'k', optional: true } } },
      { name: 'C', valueFrom: { configMapKeyRef: { name: 'c', key: 'k', optional: true } } },
      { name: 'R', value: '$(S)' },
    ];
    const out = ok(pod({ env }), { ...ctx, configMaps: { c: {} } }).env;
    assert.equal('S' in out || 'C' in out, false);
    assert.equal(out.R, '$(S)');
  });
});
