import { parseResolved } from '../helpers/resolve.js';
import { describe, expect, it } from 'vitest';
import { ManifestError } from '../../src/manifest/pod.js';
import { exportPod } from '../../src/manifest/export.js';
import { systemdUnit } from '../../src/manifest/systemd.js';
import { manifestDiff, manifestHash } from '../../src/pod/up.js';
import type { PodRecord } from '../../src/model.js';
import { thrown } from '../helpers/thrown.js';
import { base, ctr, INVALID } from '../fixtures/manifests.js';

function problems(text: string, lenient = false): string[] {
  const e = thrown(() => parseResolved(text, { file: 'pod.yaml', lenient }));
  expect(e).toBeInstanceOf(ManifestError);
  expect(e.exitCode).toBe(2);
  return (e as ManifestError).issues.map((i) => `${i.path}: ${i.message}`);
}

describe('manifest: valid pods', () => {
  it('maps a pod with every supported field', () => {
    const text = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
  annotations: {note: "x"}
spec:
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 5
  shareProcessNamespace: true
  hostIPC: true
  hostname: www
  hostAliases: [{ip: 10.0.0.1, hostnames: [db.local]}]
  resources: {limits: {memory: 1Gi, cpu: "2"}}
  volumes:
    - name: data
      emptyDir: {medium: Memory, sizeLimit: 64Mi}
    - name: host
      hostPath: {path: /srv, type: DirectoryOrCreate}
  initContainers:
    - name: init
      image: busybox
      command: [sh, -c, "echo hi"]
  containers:
    - name: app
      image: busybox
      args: [httpd, -f]
      env: [{name: MODE, value: prod}, {name: EMPTY}]
      workingDir: /srv
      ports: [{containerPort: 80, hostPort: 8080, protocol: TCP, name: http}]
      volumeMounts: [{name: data, mountPath: /data, readOnly: true, subPath: sub}]
      resources:
        requests: {cpu: 100m, memory: 32Mi}
        limits: {cpu: 500m, memory: 128974848}
      securityContext:
        runAsUser: 1000
        runAsGroup: 2000
        readOnlyRootFilesystem: true
        allowPrivilegeEscalation: false
        capabilities: {add: [NET_ADMIN], drop: [MKNOD]}
      tty: true
`;
    const { pods } = parseResolved(text);
    const p = pods[0]!;
    expect(p.pod).toMatchObject({
      name: 'web',
      hostname: 'www',
      share: ['net', 'uts', 'pid'],
      host: ['ipc'],
      restartPolicy: 'OnFailure',
      graceSeconds: 5,
      limits: { memoryBytes: 1 << 30, cpuMillis: 2000 },
      labels: { app: 'web' },
      hostAliases: [{ ip: '10.0.0.1', hostnames: ['db.local'] }],
      // the default CNI network, with every container hostPort forwarded to the pod
      network: { kind: 'cni', name: 'barepod', ports: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '' }] },
    });
    expect(p.pod.volumes).toEqual([
      { kind: 'emptyDir', name: 'data', medium: 'Memory', sizeLimitBytes: 64 << 20 },
      { kind: 'hostPath', name: 'host', path: '/srv', type: 'DirectoryOrCreate' },
    ]);
    expect(p.containers.map((c) => [c.name, c.kind, c.args])).toEqual([
      ['init', 'init', ['sh', '-c', 'echo hi']],
      ['app', 'app', ['httpd', '-f']], // args replace the image's cmd; busybox has no entrypoint
    ]);
    const app = p.containers[1]!;
    expect(app).toMatchObject({
      env: ['MODE=prod', 'EMPTY='],
      workdir: '/srv',
      user: { uid: 1000, gid: 2000 },
      limits: { cpuMillis: 500, memoryBytes: 128974848 },
      ports: [{ containerPort: 80, hostPort: 8080, protocol: 'TCP', name: 'http' }],
      mounts: [{ name: 'data', mountPath: '/data', readOnly: true, subPath: 'sub' }],
      security: { capAdd: ['CAP_NET_ADMIN'], capDrop: ['CAP_MKNOD'], privileged: false, readOnlyRootfs: true, noNewPrivileges: true },
      tty: true,
    });
  });

  it('command replaces the entrypoint and args the cmd, as in Kubernetes', () => {
    const parse = (extra: string) =>
      parseResolved(base(ctr(extra)), { imageDefaults: () => ({ entrypoint: ['/entry'], cmd: ['--serve'] }) }).pods[0]!.containers[0]!.args;
    expect(parse('')).toEqual(['/entry', '--serve']);
    expect(parse('      args: [--debug]\n')).toEqual(['/entry', '--debug']);
    expect(parse('      command: [/bin/sh]\n')).toEqual(['/bin/sh']);
    expect(parse('      command: [/bin/sh]\n      args: [-c, "true"]\n')).toEqual(['/bin/sh', '-c', 'true']);
  });

  it('reads several documents; an empty one is skipped', () => {
    const two = `${base()}---\n${base().replace('name: web', 'name: db')}---\n`;
    expect(parseResolved(two).pods.map((p) => p.pod.name)).toEqual(['web', 'db']);
  });

  it('reads a kind: List, its items named by their place in problems', () => {
    const item = (name: string) =>
      base()
        .replace('name: web', `name: ${name}`)
        .replace(/^/gm, '    ')
        .replace(/^    apiVersion/, '  - apiVersion');
    const list = `apiVersion: v1\nkind: List\nitems:\n${item('web')}\n${item('db')}\n`;
    expect(parseResolved(list).pods.map((p) => p.pod.name)).toEqual(['web', 'db']);
    const bad = thrown(() => parseResolved(`${list}---\n${list.replace('name: db', 'name: Db').replace('name: web', 'name: web2')}`)) as ManifestError;
    expect(bad.issues.map((i) => i.path)).toEqual(['document 2: items[1]: metadata.name']);
  });

  it('quantities as Kubernetes parses them', () => {
    const mem = (q: string) => parseResolved(base(ctr(`      resources: {limits: {memory: ${q}}}\n`))).pods[0]!.containers[0]!.limits.memoryBytes;
    expect([mem('1.5Gi'), mem('128974848'), mem('129e6'), mem('"500M"')]).toEqual([1610612736, 128974848, 129000000, 500000000]);
  });

  it('lenient turns unsupported fields into warnings', () => {
    const r = parseResolved(base(ctr('      lifecycle: {preStop: {exec: {command: [x]}}}\n'), '  nodeName: n1\n'), { lenient: true });
    expect(r.pods).toHaveLength(1);
    expect(r.warnings.map((w) => w.path)).toEqual(['spec.nodeName', 'spec.containers[0].lifecycle']);
  });
});

describe('manifest: invalid pods', () => {
  it('has a table of at least 40 cases', () => {
    expect(INVALID.length).toBeGreaterThanOrEqual(40);
  });

  it.each(INVALID)('%s', (_what, text, expected) => {
    const got = problems(text);
    expect(got.length).toBe(expected.length);
    expected.forEach((want, i) => expect(got[i]!.startsWith(want), `${got[i]} should start with ${want}`).toBe(true));
  });

  it('the message lists every problem with its path, and hints at --lenient', () => {
    const e = thrown(() => parseResolved(base(ctr('      workingDir: x\n      resources: {limits: {memory: 12Qi}}\n')), { file: 'pod.yaml' }));
    expect(e.message).toBe(
      'pod.yaml: 2 problems:\n  spec.containers[0].workingDir: "x" must be an absolute path\n  spec.containers[0].resources.limits.memory: "12Qi" is not a Kubernetes quantity',
    );
    expect(e.hint).toMatch(/--lenient/);
  });
});

describe('manifest: probes', () => {
  it("reads the three kinds with Kubernetes' defaults and named ports", () => {
    const { pods } = parseResolved(
      base(
        ctr(`      ports: [{name: web, containerPort: 8080}]
      startupProbe: {tcpSocket: {port: web}, failureThreshold: 30, periodSeconds: 1}
      readinessProbe: {httpGet: {path: /healthz, port: 8080, httpHeaders: [{name: X-Probe, value: "1"}]}, successThreshold: 2}
      livenessProbe: {exec: {command: [cat, /tmp/healthy]}, initialDelaySeconds: 5}
`),
      ),
    );
    expect(pods[0]!.containers[0]!.probes).toEqual({
      startup: { tcpSocket: { port: 8080 }, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 30 },
      readiness: {
        httpGet: { port: 8080, path: '/healthz', headers: { 'X-Probe': '1' } },
        initialDelaySeconds: 0,
        periodSeconds: 10,
        timeoutSeconds: 1,
        successThreshold: 2,
        failureThreshold: 3,
      },
      liveness: {
        exec: { command: ['cat', '/tmp/healthy'] },
        initialDelaySeconds: 5,
        periodSeconds: 10,
        timeoutSeconds: 1,
        successThreshold: 1,
        failureThreshold: 3,
      },
    });
  });
});

describe('manifest: native sidecars', () => {
  it('an init container with restartPolicy Always is a sidecar that keeps its place in the order', () => {
    const { pods } = parseResolved(
      base(
        ctr(''),
        '  initContainers:\n    - {name: migrate, image: busybox}\n    - {name: proxy, image: busybox, restartPolicy: Always, ports: [{containerPort: 15000}]}\n',
      ),
    );
    expect(pods[0]!.containers.map((c) => [c.name, c.kind, c.restartPolicy ?? null])).toEqual([
      ['migrate', 'init', null],
      ['proxy', 'sidecar', 'Always'],
      ['app', 'app', null],
    ]);
  });
});

describe('systemd unit', () => {
  it('is a oneshot that runs up on the stored manifest and down on stop, quoting what needs it', () => {
    const unit = systemdUnit({
      pod: 'web',
      barepod: ['/opt/barepod/bin/barepod'],
      manifest: '/var/lib/barepod/manifests/web.yaml',
      root: '/srv/my state',
      graceSeconds: 30,
    });
    expect(unit).toContain('Type=oneshot\nRemainAfterExit=yes');
    expect(unit).toContain('ExecStart=/opt/barepod/bin/barepod --root "/srv/my state" up -f /var/lib/barepod/manifests/web.yaml --wait --timeout 120s');
    expect(unit).toContain('ExecStop=/opt/barepod/bin/barepod --root "/srv/my state" down web');
    expect(unit).toContain('TimeoutStopSec=90');
    expect(unit).toContain('WantedBy=multi-user.target');
  });
});

describe('manifest: change detection and export', () => {
  it('hashes ignore key order, not values', () => {
    expect(manifestHash({ a: 1, b: { c: 2, d: 3 } })).toBe(manifestHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(manifestHash({ a: 1 })).not.toBe(manifestHash({ a: 2 }));
  });

  it('names the fields that differ', () => {
    const a = { spec: { containers: [{ name: 'app', image: 'busybox', args: ['a'] }] }, metadata: { name: 'web' } };
    const b = { spec: { containers: [{ name: 'app', image: 'busybox', args: ['b'] }], hostPID: true }, metadata: { name: 'web' } };
    expect(manifestDiff(a, b)).toEqual(['spec.containers[0].args[0]', 'spec.hostPID']);
  });

  it('exports a CLI-made pod as a manifest that parses back to the same definitions', () => {
    const { pods } = parseResolved(
      base(
        ctr('      command: [sleep, "60"]\n      env: [{name: A, value: b}]\n      securityContext: {runAsUser: 7, capabilities: {drop: [ALL]}}\n'),
        '  shareProcessNamespace: true\n  restartPolicy: Never\n',
      ),
    );
    const p = pods[0]!;
    const rec = {
      version: 2,
      def: p.pod,
      createdAt: '',
      cgroupVersion: 1,
      sandbox: {},
      containers: p.containers.map((def) => ({ def })),
    } as unknown as PodRecord;
    const again = parseResolved(JSON.stringify(exportPod(rec))).pods[0]!;
    expect(again.pod).toEqual(p.pod);
    expect(again.containers).toEqual(p.containers);
  });

  it("exports a CLI pod's -p mappings as hostPorts of its first app container, which read back as the same mappings", () => {
    const { pods } = parseResolved(base(ctr('      command: [sleep, "60"]\n')));
    const p = pods[0]!;
    const def = {
      ...p.pod,
      network: { kind: 'cni' as const, name: 'barepod', ports: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' as const, hostIP: '127.0.0.1' }] },
    };
    const rec = { version: 2, def, createdAt: '', cgroupVersion: 1, sandbox: {}, containers: p.containers.map((d) => ({ def: d })) } as unknown as PodRecord;
    const again = parseResolved(JSON.stringify(exportPod(rec))).pods[0]!;
    expect(again.pod.network).toEqual(def.network);
    const none = { ...rec, def: { ...p.pod, network: { kind: 'none' } } } as unknown as PodRecord;
    const exported = exportPod(none);
    expect((exported.metadata as { annotations: Record<string, string> }).annotations).toEqual({ 'barepod.io/network': 'none' });
    expect(parseResolved(JSON.stringify(exported)).pods[0]!.pod.network).toEqual({ kind: 'none' });
  });

  it('the barepod.io/network annotation picks the network; none has no host ports; host is spec.hostNetwork', () => {
    const net = (meta: string, c = ctr('')) => parseResolved(base(c, '', `  annotations: {${meta}}\n`)).pods[0]!.pod.network;
    expect(net('barepod.io/network: none')).toEqual({ kind: 'none' });
    expect(net('barepod.io/network: lab')).toEqual({ kind: 'cni', name: 'lab', ports: [] });
    expect(problems(base(ctr('      ports: [{containerPort: 80, hostPort: 8080}]\n'), '', '  annotations: {barepod.io/network: none}\n'))).toEqual([
      'metadata.annotations.barepod.io/network: "none" has no host ports to forward: remove the hostPorts or pick a CNI network',
    ]);
    expect(problems(base(ctr(''), '', '  annotations: {barepod.io/network: host}\n'))).toEqual([
      'metadata.annotations.barepod.io/network: "host": use spec.hostNetwork: true',
    ]);
  });
});

describe('manifest: a mount below a volume another container can write (red team, docs/security/redteam.md)', () => {
  const vols = '  volumes: [{name: work, emptyDir: {}}, {name: cfg, hostPath: {path: /srv/cfg}}]\n';
  const c = (name: string, mounts: string, extra = '') => `    - name: ${name}\n      image: busybox\n${extra}      volumeMounts: ${mounts}\n`;
  const nested = '[{name: work, mountPath: /a}, {name: cfg, mountPath: /a/config}]';
  const pod = (containers: string, init = '') =>
    `apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n${vols}${init ? `  initContainers:\n${init}` : ''}  containers:\n${containers}`;

  it('is refused when a sibling or a sidecar mounts the outer volume read-write', () => {
    expect(problems(pod(c('side', '[{name: work, mountPath: /w}]') + c('app', nested)))).toEqual([
      'spec.containers[name=app].volumeMounts: "/a/config" lies below "/a" (volume "work"), which container "side" can write while this one starts: a link it made there would carry this mount onto the runtime\'s /dev, in the host directory (runc resolves mount points when it creates the container); mount "/a/config" elsewhere, or volume "work" readOnly in "side"',
    ]);
    expect(problems(pod(c('app', nested), c('sc', '[{name: work, mountPath: /w}]', '      restartPolicy: Always\n')))).toHaveLength(1);
  });

  it('is accepted when nothing else can write it while the container starts: alone, read-only siblings, a regular init container, a prefix that is not a parent', () => {
    for (const text of [
      pod(c('app', nested)),
      pod(c('side', '[{name: work, mountPath: /w, readOnly: true}]') + c('app', nested)),
      pod(c('app', nested), c('init', '[{name: work, mountPath: /w}]')),
      pod(c('side', '[{name: work, mountPath: /w}]') + c('app', '[{name: work, mountPath: /a}, {name: cfg, mountPath: /ab}]')),
    ]) {
      expect(parseResolved(text, { file: 'pod.yaml' }).pods).toHaveLength(1);
    }
  });
});
