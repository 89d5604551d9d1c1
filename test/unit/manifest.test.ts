import { describe, expect, it } from 'vitest';
import { parseManifests, ManifestError } from '../../src/manifest/pod.js';
import { exportPod } from '../../src/manifest/export.js';
import { systemdUnit } from '../../src/manifest/systemd.js';
import { manifestDiff, manifestHash } from '../../src/pod/up.js';
import type { PodRecord } from '../../src/model.js';
import { thrown } from '../helpers/thrown.js';

const base = (containers = '    - name: app\n      image: busybox\n      command: ["sleep", "3600"]\n', spec = '', meta = '') =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n${meta}spec:\n${spec}  containers:\n${containers}`;
const ctr = (extra: string) => `    - name: app\n      image: busybox\n${extra}`;

function problems(text: string, lenient = false): string[] {
  const e = thrown(() => parseManifests(text, { file: 'pod.yaml', lenient }));
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
    const { pods } = parseManifests(text);
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
    });
    expect(p.pod.volumes).toEqual([
      { name: 'data', emptyDir: { medium: 'Memory', sizeLimitBytes: 64 << 20 } },
      { name: 'host', hostPath: { path: '/srv', type: 'DirectoryOrCreate' } },
    ]);
    expect(p.containers.map((c) => [c.name, c.init ?? false, c.args])).toEqual([
      ['init', true, ['sh', '-c', 'echo hi']],
      ['app', false, ['httpd', '-f']], // args replace the image's cmd; busybox has no entrypoint
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
      parseManifests(base(ctr(extra)), { imageDefaults: () => ({ entrypoint: ['/entry'], cmd: ['--serve'] }) }).pods[0]!.containers[0]!.args;
    expect(parse('')).toEqual(['/entry', '--serve']);
    expect(parse('      args: [--debug]\n')).toEqual(['/entry', '--debug']);
    expect(parse('      command: [/bin/sh]\n')).toEqual(['/bin/sh']);
    expect(parse('      command: [/bin/sh]\n      args: [-c, "true"]\n')).toEqual(['/bin/sh', '-c', 'true']);
  });

  it('reads several documents; an empty one is skipped', () => {
    const two = `${base()}---\n${base().replace('name: web', 'name: db')}---\n`;
    expect(parseManifests(two).pods.map((p) => p.pod.name)).toEqual(['web', 'db']);
  });

  it('quantities as Kubernetes parses them', () => {
    const mem = (q: string) => parseManifests(base(ctr(`      resources: {limits: {memory: ${q}}}\n`))).pods[0]!.containers[0]!.limits.memoryBytes;
    expect([mem('1.5Gi'), mem('128974848'), mem('129e6'), mem('"500M"')]).toEqual([1610612736, 128974848, 129000000, 500000000]);
  });

  it('lenient turns unsupported fields into warnings', () => {
    const r = parseManifests(base(ctr('      envFrom: [{configMapRef: {name: x}}]\n'), '  nodeName: n1\n'), { lenient: true });
    expect(r.pods).toHaveLength(1);
    expect(r.warnings.map((w) => w.path)).toEqual(['spec.nodeName', 'spec.containers[0].envFrom']);
  });
});

// Each invalid manifest and its precise problem list.
const INVALID: [string, string, string[]][] = [
  ['YAML syntax error', 'apiVersion: v1\nkind: Pod\nmetadata: {name: web\n', ['(yaml): ']],
  ['a duplicate key', 'apiVersion: v1\napiVersion: v1\nkind: Pod\n', ['(yaml): Map keys must be unique']],
  ['an empty file', '', ['(file): holds no Pod']],
  ['a list, not an object', '- a\n- b\n', ['(document): must be a v1/Pod object']],
  ['a wrong apiVersion', base().replace('apiVersion: v1', 'apiVersion: apps/v1'), ['apiVersion: must be "v1", got "apps/v1"']],
  ['a Deployment', base().replace('kind: Pod', 'kind: Deployment'), ['kind: must be "Pod", got "Deployment" (barepod runs pods; a Deployment is for a cluster)']],
  ['no metadata', 'apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: a, image: busybox}]\n', ['metadata: is required', 'metadata.name: is required']],
  ['no name', base().replace('  name: web\n', '  labels: {a: b}\n'), ['metadata.name: is required']],
  ['an upper-case name', base().replace('name: web', 'name: Web'), ['metadata.name: invalid pod name "Web": must be a DNS-1123 label: at most 63 characters, lower-case letters, digits and \'-\', starting and ending with a letter or digit']],
  ['a dotted pod name', base().replace('name: web', 'name: web.example'), ['metadata.name: invalid pod name "web.example": must be a DNS-1123 label: at most 63 characters, lower-case letters, digits and \'-\', starting and ending with a letter or digit']],
  ['a numeric name', base().replace('name: web', 'name: 42'), ['metadata.name: must be a string, got a number']],
  ['labels not a map', base('    - name: app\n      image: busybox\n', '', '  labels: [a]\n'), ['metadata.labels: must be an object, got a list']],
  ['a label value not a string', base('    - name: app\n      image: busybox\n', '', '  labels: {tier: 3}\n'), ['metadata.labels.tier: must be a string, got a number']],
  ['another namespace', base('    - name: app\n      image: busybox\n', '', '  namespace: prod\n'), ['metadata.namespace: only the "default" namespace exists on one host']],
  ['no spec', 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n', ['spec: is required', 'spec.containers: must list at least one container']],
  ['no containers', 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: []\n', ['spec.containers: must list at least one container']],
  ['containers not a list', 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: {name: a}\n', ['spec.containers: must be a list, got an object', 'spec.containers: must list at least one container']],
  ['a container without an image', base('    - name: app\n'), ['spec.containers[0].image: is required']],
  ['a container without a name', base('    - image: busybox\n'), ['spec.containers[0].name: is required']],
  ['duplicate container names', base(`${ctr('')}${ctr('')}`), ['spec.containers[1].name: "app" is already the name of another container of this pod']],
  ['an init container named like an app container', base(ctr(''), '  initContainers:\n    - name: app\n      image: busybox\n'), ['spec.containers[0].name: "app" is already the name of another container of this pod']],
  ['an invalid container name', base('    - name: my_app\n      image: busybox\n'), ['spec.containers[0].name: invalid container name "my_app": must be a DNS-1123 label: at most 63 characters, lower-case letters, digits and \'-\', starting and ending with a letter or digit']],
  ['command not a list', base(ctr('      command: sleep 10\n')), ['spec.containers[0].command: must be a list, got a string']],
  ['an args item not a string', base(ctr('      args: [sleep, 10]\n')), ['spec.containers[0].args[1]: must be a string, got a number']],
  ['an env value not a string', base(ctr('      env: [{name: PORT, value: 8080}]\n')), ['spec.containers[0].env[0].value: must be a string (quote numbers and booleans), got number']],
  ['env valueFrom', base(ctr('      env: [{name: A, valueFrom: {secretKeyRef: {name: s, key: k}}}]\n')), ['spec.containers[0].env[0].valueFrom: is not supported by barepod']],
  ['a bad env name', base(ctr('      env: [{name: "1A", value: x}]\n')), ['spec.containers[0].env[0].name: "1A" is not a valid environment variable name']],
  ['a relative workingDir', base(ctr('      workingDir: srv\n')), ['spec.containers[0].workingDir: "srv" must be an absolute path']],
  ['a bad memory quantity', base(ctr('      resources: {limits: {memory: 12Qi}}\n')), ['spec.containers[0].resources.limits.memory: "12Qi" is not a Kubernetes quantity']],
  ['a bad cpu quantity', base(ctr('      resources: {requests: {cpu: "1.5 cores"}}\n')), ['spec.containers[0].resources.requests.cpu: "1.5 cores" is not a Kubernetes quantity']],
  ['a zero memory limit', base(ctr('      resources: {limits: {memory: "0"}}\n')), ['spec.containers[0].resources.limits.memory: "0" must be greater than zero']],
  ['an unsupported resource', base(ctr('      resources: {limits: {nvidia.com/gpu: 1}}\n')), ['spec.containers[0].resources.limits.nvidia.com/gpu: resource "nvidia.com/gpu" is not supported (cpu and memory are)']],
  ['a port out of range', base(ctr('      ports: [{containerPort: 70000}]\n')), ['spec.containers[0].ports[0].containerPort: 70000 is out of range (1–65535)']],
  ['a port without containerPort', base(ctr('      ports: [{hostPort: 8080}]\n')), ['spec.containers[0].ports[0].containerPort: is required']],
  ['a port as a string', base(ctr('      ports: [{containerPort: "80"}]\n')), ['spec.containers[0].ports[0].containerPort: must be a whole number, got a string']],
  ['a bad protocol', base(ctr('      ports: [{containerPort: 80, protocol: ICMP}]\n')), ['spec.containers[0].ports[0].protocol: "ICMP" must be one of TCP, UDP']],
  ['SCTP', base(ctr('      ports: [{containerPort: 80, protocol: SCTP}]\n')), ['spec.containers[0].ports[0].protocol: SCTP is not supported (TCP and UDP are)']],
  ['a hostIP without hostPort', base(ctr('      ports: [{containerPort: 80, hostIP: 127.0.0.1}]\n')), ['spec.containers[0].ports[0].hostIP: needs a hostPort']],
  ['a hostPort mapped twice', base(`${ctr('      ports: [{containerPort: 80, hostPort: 8080}]\n')}    - name: b\n      image: busybox\n      ports: [{containerPort: 81, hostPort: 8080}]\n`), ['spec.containers[name=b].ports: hostPort 0.0.0.0:8080/TCP is already mapped by container "app"']],
  ['a dangling volume reference', base(ctr('      volumeMounts: [{name: data, mountPath: /data}]\n')), ['spec.containers[0].volumeMounts[0].name: "data" is not a volume of this pod (spec.volumes)']],
  ['a relative mountPath', base(ctr('      volumeMounts: [{name: d, mountPath: data}]\n'), '  volumes: [{name: d, emptyDir: {}}]\n'), ['spec.containers[0].volumeMounts[0].mountPath: "data" must be an absolute path']],
  ['a subPath escaping the volume', base(ctr('      volumeMounts: [{name: d, mountPath: /d, subPath: ../etc}]\n'), '  volumes: [{name: d, emptyDir: {}}]\n'), ['spec.containers[0].volumeMounts[0].subPath: "../etc" must be a relative path without ".."']],
  ['a volume mounted twice at one path', base(ctr('      volumeMounts: [{name: d, mountPath: /d}, {name: d, mountPath: /d}]\n'), '  volumes: [{name: d, emptyDir: {}}]\n'), ['spec.containers[0].volumeMounts[1].mountPath: "/d" is already mounted by another volumeMount']],
  ['a volume without a source', base(ctr(''), '  volumes: [{name: d}]\n'), ['spec.volumes[0]: needs a source: emptyDir or hostPath']],
  ['a volume with two sources', base(ctr(''), '  volumes: [{name: d, emptyDir: {}, hostPath: {path: /srv}}]\n'), ['spec.volumes[0]: must have exactly one source (emptyDir or hostPath)']],
  ['duplicate volume names', base(ctr(''), '  volumes: [{name: d, emptyDir: {}}, {name: d, emptyDir: {}}]\n'), ['spec.volumes[1].name: "d" is already the name of another volume']],
  ['a configMap volume', base(ctr(''), '  volumes: [{name: d, configMap: {name: cm}}]\n'), ['spec.volumes[0].configMap: is not supported by barepod']],
  ['a bad emptyDir medium', base(ctr(''), '  volumes: [{name: d, emptyDir: {medium: HugePages}}]\n'), ['spec.volumes[0].emptyDir.medium: "HugePages" must be one of , Memory']],
  ['a bad sizeLimit', base(ctr(''), '  volumes: [{name: d, emptyDir: {sizeLimit: lots}}]\n'), ['spec.volumes[0].emptyDir.sizeLimit: "lots" is not a Kubernetes quantity']],
  ['a relative hostPath', base(ctr(''), '  volumes: [{name: d, hostPath: {path: srv}}]\n'), ['spec.volumes[0].hostPath.path: "srv" must be an absolute path']],
  ['a bad hostPath type', base(ctr(''), '  volumes: [{name: d, hostPath: {path: /srv, type: Dir}}]\n'), ['spec.volumes[0].hostPath.type: "Dir" must be one of , DirectoryOrCreate, Directory, FileOrCreate, File, Socket, CharDevice, BlockDevice']],
  ['a bad restartPolicy', base(ctr(''), '  restartPolicy: Sometimes\n'), ['spec.restartPolicy: "Sometimes" must be one of Always, OnFailure, Never']],
  ['a negative grace period', base(ctr(''), '  terminationGracePeriodSeconds: -1\n'), ['spec.terminationGracePeriodSeconds: -1 is out of range (0–86400)']],
  ['shareProcessNamespace not a boolean', base(ctr(''), '  shareProcessNamespace: "yes"\n'), ['spec.shareProcessNamespace: must be true or false, got a string']],
  ['hostPID with shareProcessNamespace', base(ctr(''), '  hostPID: true\n  shareProcessNamespace: true\n'), ['spec.shareProcessNamespace: cannot be true together with hostPID']],
  ['a bad hostAliases ip', base(ctr(''), '  hostAliases: [{ip: 300.1.1.1, hostnames: [a]}]\n'), ['spec.hostAliases[0].ip: "300.1.1.1" is not an IP address']],
  ['an unknown spec field', base(ctr(''), '  replicas: 3\n'), ['spec.replicas: unknown field (not part of the supported v1/Pod subset)']],
  ['an unsupported spec field', base(ctr(''), '  nodeSelector: {disk: ssd}\n'), ['spec.nodeSelector: is not supported by barepod']],
  ['a misspelled container field', base(ctr('      imagePullPolcy: Always\n')), ['spec.containers[0].imagePullPolcy: unknown field (not part of the supported v1/Pod subset)']],
  ['a bad imagePullPolicy', base(ctr('      imagePullPolicy: Sometimes\n')), ['spec.containers[0].imagePullPolicy: "Sometimes" must be one of Always, IfNotPresent, Never']],
  ['a restartPolicy on an app container', base(ctr('      restartPolicy: Always\n')), ['spec.containers[0].restartPolicy: is only allowed on init containers (Always makes a native sidecar)']],
  ['an unknown capability', base(ctr('      securityContext: {capabilities: {add: [FLY]}}\n')), ['spec.containers[0].securityContext.capabilities.add[0]: "FLY" is not a Linux capability']],
  ['runAsUser negative', base(ctr('      securityContext: {runAsUser: -1}\n')), ['spec.containers[0].securityContext.runAsUser: -1 is out of range (0–4294967294)']],
  ['privileged without escalation', base(ctr('      securityContext: {privileged: true, allowPrivilegeEscalation: false}\n')), ['spec.containers[0].securityContext.allowPrivilegeEscalation: cannot be false when privileged is true']],
  ['an init container restartPolicy other than Always', base(ctr(''), '  initContainers: [{name: i, image: busybox, restartPolicy: OnFailure}]\n'), ['spec.initContainers[0].restartPolicy: "OnFailure" must be one of Always']],
  ['a probe with two handlers', base(ctr('      readinessProbe: {httpGet: {port: 80}, tcpSocket: {port: 80}}\n')), ['spec.containers[0].readinessProbe: must have exactly one handler, got tcpSocket and httpGet']],
  ['a probe without a handler', base(ctr('      livenessProbe: {periodSeconds: 5}\n')), ['spec.containers[0].livenessProbe: needs a handler: exec, tcpSocket or httpGet']],
  ['a probe on an unknown named port', base(ctr('      readinessProbe: {httpGet: {port: web}}\n')), ['spec.containers[0].readinessProbe.httpGet.port: "web" is not the name of a port of this container']],
  ['a liveness successThreshold above 1', base(ctr('      livenessProbe: {exec: {command: ["true"]}, successThreshold: 2}\n')), ['spec.containers[0].livenessProbe.successThreshold: must be 1 for a liveness probe']],
  ['a zero probe period', base(ctr('      readinessProbe: {tcpSocket: {port: 80}, periodSeconds: 0}\n')), ['spec.containers[0].readinessProbe.periodSeconds: 0 is out of range (1–86400)']],
  ['a grpc probe', base(ctr('      livenessProbe: {grpc: {port: 80}}\n')), ['spec.containers[0].livenessProbe.grpc: is not supported by barepod']],
  ['a probe on an init container', base(ctr(''), '  initContainers: [{name: i, image: busybox, readinessProbe: {exec: {command: ["true"]}}}]\n'), ['spec.initContainers[0].readinessProbe: init containers may not have probes (a native sidecar may)']],
  ['ports on an init container', base(ctr(''), '  initContainers: [{name: i, image: busybox, ports: [{containerPort: 80}]}]\n'), ['spec.initContainers[0].ports: init containers may not declare ports']],
  ['a status block', `${base()}status: {phase: Running}\n`, ['status: is not supported by barepod']],
  ['the same pod twice in one file', `${base()}---\n${base()}`, ['document 2: metadata.name: "web" is defined twice in this file']],
  ['problems in two documents', `${base(ctr('      workingDir: x\n'))}---\n${base().replace('name: web', 'name: Db')}`, [
    'document 1: spec.containers[0].workingDir: "x" must be an absolute path',
    'document 2: metadata.name: invalid pod name "Db": must be a DNS-1123 label: at most 63 characters, lower-case letters, digits and \'-\', starting and ending with a letter or digit',
  ]],
];

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
    const e = thrown(() => parseManifests(base(ctr('      workingDir: x\n      resources: {limits: {memory: 12Qi}}\n')), { file: 'pod.yaml' }));
    expect(e.message).toBe(
      'pod.yaml: 2 problems:\n  spec.containers[0].workingDir: "x" must be an absolute path\n  spec.containers[0].resources.limits.memory: "12Qi" is not a Kubernetes quantity',
    );
    expect(e.hint).toMatch(/--lenient/);
  });
});

describe('manifest: probes', () => {
  it('reads the three kinds with Kubernetes\' defaults and named ports', () => {
    const { pods } = parseManifests(
      base(ctr(`      ports: [{name: web, containerPort: 8080}]
      startupProbe: {tcpSocket: {port: web}, failureThreshold: 30, periodSeconds: 1}
      readinessProbe: {httpGet: {path: /healthz, port: 8080, httpHeaders: [{name: X-Probe, value: "1"}]}, successThreshold: 2}
      livenessProbe: {exec: {command: [cat, /tmp/healthy]}, initialDelaySeconds: 5}
`)),
    );
    expect(pods[0]!.containers[0]!.probes).toEqual({
      startup: { tcpSocket: { port: 8080 }, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 30 },
      readiness: { httpGet: { port: 8080, path: '/healthz', headers: { 'X-Probe': '1' } }, initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 2, failureThreshold: 3 },
      liveness: { exec: { command: ['cat', '/tmp/healthy'] }, initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
    });
  });
});

describe('manifest: native sidecars', () => {
  it('an init container with restartPolicy Always is a sidecar that keeps its place in the order', () => {
    const { pods } = parseManifests(base(ctr(''), '  initContainers:\n    - {name: migrate, image: busybox}\n    - {name: proxy, image: busybox, restartPolicy: Always, ports: [{containerPort: 15000}]}\n'));
    expect(pods[0]!.containers.map((c) => [c.name, c.init ?? false, c.sidecar ?? false, c.restartPolicy ?? null])).toEqual([
      ['migrate', true, false, null],
      ['proxy', false, true, 'Always'],
      ['app', false, false, null],
    ]);
  });
});

describe('systemd unit', () => {
  it('is a oneshot that runs up on the stored manifest and down on stop, quoting what needs it', () => {
    const unit = systemdUnit({ pod: 'web', barepod: ['/opt/barepod/bin/barepod'], manifest: '/var/lib/barepod/manifests/web.yaml', root: '/srv/my state', graceSeconds: 30 });
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
    const { pods } = parseManifests(base(ctr('      command: [sleep, "60"]\n      env: [{name: A, value: b}]\n      securityContext: {runAsUser: 7, capabilities: {drop: [ALL]}}\n'), '  shareProcessNamespace: true\n  restartPolicy: Never\n'));
    const p = pods[0]!;
    const rec = { version: 1, def: p.pod, createdAt: '', cgroupVersion: 1, sandbox: {}, containers: p.containers.map((def) => ({ def })) } as unknown as PodRecord;
    const again = parseManifests(JSON.stringify(exportPod(rec))).pods[0]!;
    expect(again.pod).toEqual(p.pod);
    expect(again.containers).toEqual(p.containers);
  });
});
