/**
 * Kinds as unions: each kind of volume, network and member has its handler,
 * and what each handler says is what barepod said before kinds were unions
 * (the dry run's volume labels, the step titles, the exported manifest).
 */
import { parseResolved } from '../helpers/resolve.js';
import { describe, expect, it } from 'vitest';
import type { ContainerDefinition, PodDefinition, PodRecord, VolumeDefinition } from '../../src/model.js';
import { VOLUME_KINDS, volumeKind, volumeSources } from '../../src/plan/volume-kinds.js';
import { MEMBER_KINDS } from '../../src/plan/members.js';
import { containerTitle, networkTitle } from '../../src/plan/narration.js';
import { networkNamed } from '../../src/plan/network.js';
import { exportPod } from '../../src/manifest/export.js';

const volumes: VolumeDefinition[] = [
  { kind: 'emptyDir', name: 'work', medium: '' },
  { kind: 'emptyDir', name: 'mem', medium: 'Memory', sizeLimitBytes: 8 << 20 },
  { kind: 'hostPath', name: 'any', path: '/srv/any', type: '' },
  { kind: 'hostPath', name: 'dir', path: '/srv/dir', type: 'Directory' },
  { kind: 'persistentVolumeClaim', name: 'data', claimName: 'db-data', readOnly: true, path: '' },
];

describe('volume kinds', () => {
  it('each kind has its source, its dry-run label and its --explain words', () => {
    expect(volumeSources('/run/bp', { name: 'web', volumes })).toEqual({
      work: '/run/bp/pods/web/volumes/work',
      mem: '/run/bp/pods/web/volumes/mem',
      any: '/srv/any',
      dir: '/srv/dir',
      data: '', // as parsed: up binds a claim to its named volume (bindClaims)
    });
    const bound = { ...volumes[4]!, path: '/var/lib/barepod/volumes/db-data/_data' } as VolumeDefinition;
    expect(volumeSources('/run/bp', { name: 'web', volumes: [bound] })).toEqual({ data: '/var/lib/barepod/volumes/db-data/_data' });
    expect(volumes.map((v) => volumeKind(v).label(v))).toEqual([
      'emptyDir',
      'emptyDir (tmpfs)',
      'hostPath (no check)',
      'hostPath (Directory)',
      'persistentVolumeClaim (db-data, read-only)',
    ]);
    expect(volumeKind(volumes[1]!).explain(volumes[1]!, '/d')).toBe('volume mem: emptyDir /d (a tmpfs, capped at 8Mi), mode 0777, removed with the pod');
    expect(volumeKind(volumes[3]!).explain(volumes[3]!, '/srv/dir')).toBe('volume dir: hostPath /srv/dir (type "Directory"), never removed by barepod');
    const tun = { kind: 'hostPath' as const, name: 'tun', path: '/dev/net/tun', type: 'CharDevice' as const };
    expect(volumeKind(tun).explain(tun, '/dev/net/tun')).toContain(
      "a device, made as a node (the host's numbers) in the /dev of each container that mounts it",
    );
  });

  it('the manifest key of a volume source is its kind: parsed, exported and parsed again, every kind is the same', () => {
    expect(Object.keys(VOLUME_KINDS).sort()).toEqual(['configMap', 'downwardAPI', 'emptyDir', 'hostPath', 'persistentVolumeClaim', 'projected', 'secret']);
    const text = `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers: [{name: app, image: busybox, command: [sleep, "1"]}]
  volumes:
    - {name: work, emptyDir: {}}
    - {name: mem, emptyDir: {medium: Memory, sizeLimit: 8Mi}}
    - {name: any, hostPath: {path: /srv/any}}
    - {name: dir, hostPath: {path: /srv/dir, type: Directory}}
    - {name: data, persistentVolumeClaim: {claimName: db-data, readOnly: true}}
`;
    const p = parseResolved(text).pods[0]!;
    expect(p.pod.volumes).toEqual(volumes);
    const rec = {
      version: 2,
      def: p.pod,
      createdAt: '',
      cgroupVersion: 1,
      sandbox: {},
      containers: p.containers.map((def) => ({ def })),
    } as unknown as PodRecord;
    const exported = exportPod(rec) as { spec: { volumes: unknown[] } };
    expect(exported.spec.volumes).toEqual([
      { name: 'work', emptyDir: {} },
      { name: 'mem', emptyDir: { medium: 'Memory', sizeLimit: '8Mi' } },
      { name: 'any', hostPath: { path: '/srv/any' } },
      { name: 'dir', hostPath: { path: '/srv/dir', type: 'Directory' } },
      { name: 'data', persistentVolumeClaim: { claimName: 'db-data', readOnly: true } },
    ]);
    expect(parseResolved(JSON.stringify(exported)).pods[0]!.pod.volumes).toEqual(volumes);
  });

  it('configMap, secret, downwardAPI and projected volumes export as written and parse back the same', () => {
    const written = [
      { name: 'cfg', configMap: { name: 'app', items: [{ key: 'a', path: 'x/a', mode: 0o600 }], optional: true } },
      { name: 'sec', secret: { secretName: 'db', defaultMode: 0o400 } },
      { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
      { name: 'all', projected: { sources: [{ configMap: { name: 'app' } }, { secret: { name: 'db', items: [{ key: 'pw', path: 'pw' }] } }] } },
    ];
    const text = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web' },
      spec: { containers: [{ name: 'app', image: 'busybox', volumeMounts: [{ name: 'cfg', mountPath: '/cfg' }] }], volumes: written },
    });
    const p = parseResolved(text).pods[0]!;
    expect(p.pod.volumes!.map((v) => volumeKind(v).label(v))).toEqual([
      'configMap app (optional)',
      'secret db',
      'downwardAPI (1 file)',
      'projected (configMap app, secret db)',
    ]);
    // mounted read-only whatever the volumeMount says, as the kubelet does
    expect(p.containers[0]!.mounts).toEqual([{ name: 'cfg', mountPath: '/cfg', readOnly: true }]);
    const rec = {
      version: 2,
      def: p.pod,
      createdAt: '',
      cgroupVersion: 1,
      sandbox: {},
      containers: p.containers.map((def) => ({ def })),
    } as unknown as PodRecord;
    const exported = exportPod(rec) as { spec: { volumes: unknown[] } };
    expect(exported.spec.volumes).toEqual(written);
    expect(parseResolved(JSON.stringify(exported)).pods[0]!.pod.volumes).toEqual(p.pod.volumes);
  });
});

describe('network and member kinds', () => {
  const pod = (network: string) => ({ name: 'web', hostname: 'web', share: ['net'], limits: {}, network: networkNamed(network) }) as PodDefinition;
  const ctr = (kind: ContainerDefinition['kind']) =>
    ({
      name: 'c',
      kind,
      image: 'busybox',
      rootfs: null,
      args: ['sh'],
      env: [],
      workdir: '/',
      user: { uid: 0, gid: 0 },
      limits: {},
      pidMode: 'pod',
      seccomp: 'default',
    }) as ContainerDefinition;

  it('a network name picks its mode: none, host, else a CNI network', () => {
    expect(['none', 'host', 'barepod', 'lab'].map((n) => networkNamed(n))).toEqual([
      { kind: 'none' },
      { kind: 'host' },
      { kind: 'cni', name: 'barepod', ports: [] },
      { kind: 'cni', name: 'lab', ports: [] },
    ]);
    expect(networkTitle(pod('host'), '/n')).toBe("Network: host (the pod uses the host's net namespace: no CNI)");
    expect(networkTitle(pod('lab'), '/n', ['bridge'])).toBe('Network: CNI ADD lab (bridge) for netns /n');
  });

  it('each member kind has its words; only init containers run to completion', () => {
    expect(Object.keys(MEMBER_KINDS)).toEqual(['sandbox', 'init', 'sidecar', 'app']);
    expect((['init', 'sidecar', 'app'] as const).map((k) => containerTitle(ctr(k), [], '/cg'))).toEqual([
      "Init container c: image busybox, joins none of the pod's namespaces, cgroup /cg; runs to completion before the next one starts",
      "Sidecar container c: image busybox, joins none of the pod's namespaces, cgroup /cg",
      "Container c: image busybox, joins none of the pod's namespaces, cgroup /cg",
    ]);
  });
});
