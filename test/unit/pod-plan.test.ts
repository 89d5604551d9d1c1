import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import { NO_NETWORK, type ContainerDefinition, type PodDefinition, type SharedNamespace } from '../../src/model.js';
import {
  NAMESPACES,
  SANDBOX_NAME,
  containerCgroup,
  joinedNamespaces,
  planContainerSpec,
  planSandboxSpec,
  podCgroup,
  runcId,
  sandboxNamespacePath,
  type PlanContext,
} from '../../src/plan/pod-plan.js';
import { DEFAULT_CAPABILITIES } from '../../src/oci/default-spec.js';
import type { Spec } from '../../src/oci/types.js';

/** Tiny stand-in for the converted containers-common profile, so goldens stay readable. */
const SECCOMP = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [] };
const V1: PlanContext = { cgroupVersion: 1, cgroupRoot: 'barepod', seccomp: SECCOMP };
const V2: PlanContext = { cgroupVersion: 2, cgroupRoot: 'barepod', seccomp: SECCOMP };
const PAUSE_PID = 4242;
const PAUSE_ROOTFS = '/var/lib/barepod/rootfs/pause';
const APP_ROOTFS = '/run/barepod/pods/web/containers/app/rootfs';

function pod(share: SharedNamespace[] = ['net', 'ipc', 'uts'], extra: Partial<PodDefinition> = {}): PodDefinition {
  return { name: 'web', hostname: 'web', share, limits: {}, network: NO_NETWORK, ...extra } as PodDefinition;
}

function app(extra: Partial<ContainerDefinition> = {}): ContainerDefinition {
  return {
    name: 'app',
    kind: 'app',
    image: 'busybox',
    rootfs: null,
    args: ['httpd', '-f', '-p', '8080'],
    env: [],
    workdir: '/',
    user: { uid: 0, gid: 0 },
    limits: {},
    pidMode: 'pod',
    seccomp: 'default',
    ...extra,
  };
}

const GOLDEN_DIR = fileURLToPath(new URL('./golden/', import.meta.url));

/**
 * Compares a spec with its golden config.json, byte for byte, through
 * vitest's file snapshots: `npx vitest run test/unit/pod-plan.test.ts -u`
 * rewrites the files (review the diff). The spec goes through JSON first:
 * what runc reads is the JSON, so an `undefined` field is absent.
 */
async function expectGolden(name: string, spec: Spec): Promise<void> {
  await expect(`${JSON.stringify(spec, null, 2)}\n`).toMatchFileSnapshot(`${GOLDEN_DIR}${name}.json`);
}

const ns = (spec: Spec, type: string) => spec.linux.namespaces.filter((n) => n.type === type);

describe('golden config.json', async () => {
  it('(a) sandbox of pod web sharing net,ipc,uts on cgroup v1', async () => {
    await expectGolden('sandbox-web-v1', planSandboxSpec(pod(), V1, PAUSE_ROOTFS));
  });

  it('(b) container app joining the pod (pidMode pod, no limits), pause pid 4242', async () => {
    await expectGolden('container-app-v1', planContainerSpec(pod(), app(), PAUSE_PID, V1, APP_ROOTFS));
  });

  it('(c) container app in a pod that shares pid too', async () => {
    await expectGolden('container-app-share-pid-v1', planContainerSpec(pod(['net', 'ipc', 'uts', 'pid']), app(), PAUSE_PID, V1, APP_ROOTFS));
  });

  it('(d) container with memory 64Mi, cpu 500m and pids 32', async () => {
    const ctr = app({ limits: { memoryBytes: 64 * 1024 * 1024, cpuMillis: 500, pids: 32 } });
    await expectGolden('container-app-limits-v1', planContainerSpec(pod(), ctr, PAUSE_PID, V1, APP_ROOTFS));
  });

  it('(e) sandbox and container on cgroup v2', async () => {
    await expectGolden('sandbox-web-v2', planSandboxSpec(pod(), V2, PAUSE_ROOTFS));
    await expectGolden('container-app-v2', planContainerSpec(pod(), app(), PAUSE_PID, V2, APP_ROOTFS));
  });

  it('(f) container in a pod that does not share uts', async () => {
    await expectGolden('container-app-own-uts-v1', planContainerSpec(pod(['net', 'ipc']), app(), PAUSE_PID, V1, APP_ROOTFS));
  });

  it('(g) container binding the pod /dev/shm (IPC shared)', async () => {
    await expectGolden('container-app-pod-shm-v1', planContainerSpec(pod(), app(), PAUSE_PID, V1, APP_ROOTFS, '/run/barepod/pods/web/shm'));
  });

  it('with the pod /etc files (hosts, resolv.conf, hostname) bound in', async () => {
    await expectGolden(
      'container-app-pod-files-v1',
      planContainerSpec(pod(), app(), PAUSE_PID, V1, APP_ROOTFS, '/run/barepod/pods/web/shm', {}, '/run/barepod/pods/web/etc'),
    );
  });
});

describe('golden config.json: devices and privileges', () => {
  const TUN = { path: '/dev/net/tun', type: 'c' as const, major: 10, minor: 200, fileMode: 0o600, uid: 0, gid: 0 };
  const LOOP = { path: '/dev/loop-control', type: 'c' as const, major: 10, minor: 237, fileMode: 0o600, uid: 0, gid: 0 };

  it('run --device /dev/net/tun --cap-add NET_ADMIN: the node, its allow rule, NET_ADMIN on top of the default set', async () => {
    const ctr = app({
      devices: [{ hostPath: '/dev/net/tun', containerPath: '/dev/net/tun', access: 'rwm' }],
      security: { capAdd: ['CAP_NET_ADMIN'], capDrop: [], privileged: false, readOnlyRootfs: false, noNewPrivileges: true },
    });
    await expectGolden(
      'container-app-device-tun-v1',
      planContainerSpec(pod(), ctr, PAUSE_PID, V1, APP_ROOTFS, undefined, {}, undefined, [], [{ device: TUN, access: 'rwm' }]),
    );
  });

  it('run --privileged: the host devices, every device allowed, every capability, no seccomp, nothing masked, /sys writable', async () => {
    const ctr = app({ seccomp: 'unconfined', security: { capAdd: [], capDrop: [], privileged: true, readOnlyRootfs: false, noNewPrivileges: false } });
    const devices = [TUN, LOOP].map((device) => ({ device, access: 'rwm' }));
    await expectGolden('container-app-privileged-v1', planContainerSpec(pod(), ctr, PAUSE_PID, V1, APP_ROOTFS, undefined, {}, undefined, [], devices));
  });
});

describe('planContainerSpec: the pod /dev/shm', () => {
  const shmOf = (spec: Spec) => spec.mounts.filter((m) => m.destination === '/dev/shm');
  it('binds the pod shm over /dev/shm when the container joins the pod IPC namespace', () => {
    expect(shmOf(planContainerSpec(pod(), app(), PAUSE_PID, V1, APP_ROOTFS, '/x/shm'))).toEqual([
      { destination: '/dev/shm', type: 'bind', source: '/x/shm', options: ['rbind', 'nosuid', 'nodev', 'noexec'] },
    ]);
  });
  it("binds the host's /dev/shm in a hostIPC pod (as containerd and Docker do), never the pod's", () => {
    const hostIpc = pod(['net', 'uts'], { host: ['ipc'] });
    expect(shmOf(planContainerSpec(hostIpc, app(), PAUSE_PID, V1, APP_ROOTFS, '/x/shm'))).toEqual([
      { destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'nosuid', 'nodev', 'noexec'] },
    ]);
    expect(shmOf(planContainerSpec(hostIpc, app(), PAUSE_PID, V1, APP_ROOTFS))[0]?.source).toBe('/dev/shm');
  });
  it('keeps a private /dev/shm tmpfs when IPC is not shared', () => {
    const m = shmOf(planContainerSpec(pod(['net', 'uts']), app(), PAUSE_PID, V1, APP_ROOTFS, '/x/shm'));
    expect(m).toHaveLength(1);
    expect(m[0]?.type).toBe('tmpfs');
  });
});

describe('planContainerSpec: volumes barepod writes', () => {
  it('mounts a configMap/secret/downwardAPI/projected volume read-only even when the mount asks for read-write (run -v VOLUME:DIR); an emptyDir as asked', () => {
    const p = pod(undefined, {
      volumes: [
        { kind: 'configMap', name: 'cfg', defaultMode: 0o644, sources: [{ kind: 'configMap', name: 'c', optional: false }] },
        { kind: 'emptyDir', name: 'work', medium: '' },
      ],
    });
    const ctr = app({
      mounts: [
        { name: 'cfg', mountPath: '/cfg', readOnly: false },
        { name: 'work', mountPath: '/work', readOnly: false },
      ],
    });
    const spec = planContainerSpec(p, ctr, PAUSE_PID, V1, APP_ROOTFS, undefined, { cfg: '/v/cfg', work: '/v/work' });
    expect(spec.mounts.filter((m) => m.source?.startsWith('/v/')).map((m) => [m.destination, m.options])).toEqual([
      ['/cfg', ['rbind', 'ro', 'nosuid', 'nodev']],
      ['/work', ['rbind', 'rw', 'nosuid', 'nodev']],
    ]);
  });
});

describe('planSandboxSpec', () => {
  const sb = planSandboxSpec(pod(), V1, PAUSE_ROOTFS);

  it('runs /pause from a read-only rootfs with no capabilities', () => {
    expect(sb.process.args).toEqual(['/pause']);
    expect(sb.root).toEqual({ path: PAUSE_ROOTFS, readonly: true });
    expect(sb.process.capabilities).toEqual({ bounding: [], effective: [], permitted: [] });
    expect(sb.process.noNewPrivileges).toBe(true);
  });

  it('sets the pod hostname', () => {
    expect(sb.hostname).toBe('web');
    expect(planSandboxSpec(pod(undefined, { hostname: 'www.example' }), V1, PAUSE_ROOTFS).hostname).toBe('www.example');
  });

  it('lives in the reserved _pause cgroup under the pod parent', () => {
    expect(sb.linux.cgroupsPath).toBe('/barepod/web/_pause');
    expect(SANDBOX_NAME).toBe('_pause');
  });

  it('creates every shareable namespace plus its own mount namespace, none by path', () => {
    expect(sb.linux.namespaces.map((n) => n.type).sort()).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
    for (const n of sb.linux.namespaces) expect(n).not.toHaveProperty('path');
  });

  it('does not depend on which namespaces the pod shares (pid sharing is decided per container)', () => {
    expect(planSandboxSpec(pod(['net', 'ipc', 'uts', 'pid']), V1, PAUSE_ROOTFS)).toEqual(sb);
    expect(planSandboxSpec(pod([]), V1, PAUSE_ROOTFS)).toEqual(sb);
  });

  it('adds a cgroup namespace only on cgroup v2', () => {
    expect(ns(sb, 'cgroup')).toEqual([]);
    expect(ns(planSandboxSpec(pod(), V2, PAUSE_ROOTFS), 'cgroup')).toEqual([{ type: 'cgroup' }]);
  });

  it('applies the context seccomp filter, and none when the context has none', () => {
    expect(sb.linux.seccomp).toEqual(SECCOMP);
    expect(planSandboxSpec(pod(), { cgroupVersion: 1, cgroupRoot: 'barepod' }, PAUSE_ROOTFS).linux).not.toHaveProperty('seccomp');
  });

  it('annotates the pod and the sandbox name', () => {
    expect(sb.annotations).toEqual({ 'io.barepod.pod': 'web', 'io.barepod.container': '_pause' });
  });
});

describe('planContainerSpec: namespaces', () => {
  type Case = [string, SharedNamespace[], ContainerDefinition['pidMode'], Record<string, string | undefined>];
  const P = `/proc/${PAUSE_PID}/ns`;
  const cases: Case[] = [
    ['default share', ['net', 'ipc', 'uts'], 'pod', { network: `${P}/net`, ipc: `${P}/ipc`, uts: `${P}/uts`, pid: undefined }],
    ['share pid, pidMode pod', ['net', 'ipc', 'uts', 'pid'], 'pod', { network: `${P}/net`, ipc: `${P}/ipc`, uts: `${P}/uts`, pid: `${P}/pid` }],
    ['share pid, pidMode private', ['net', 'ipc', 'uts', 'pid'], 'private', { network: `${P}/net`, ipc: `${P}/ipc`, uts: `${P}/uts`, pid: undefined }],
    ['no pid share, pidMode pod', ['net', 'ipc', 'uts'], 'pod', { pid: undefined }],
    ['no uts', ['net', 'ipc'], 'pod', { network: `${P}/net`, ipc: `${P}/ipc`, uts: undefined, pid: undefined }],
    ['nothing shared', [], 'pod', { network: undefined, ipc: undefined, uts: undefined, pid: undefined }],
    ['only pid', ['pid'], 'pod', { network: undefined, ipc: undefined, uts: undefined, pid: `${P}/pid` }],
  ];

  it.each(cases)('%s: joins by /proc/<pause>/ns path or creates its own', (_what, share, pidMode, expected) => {
    const spec = planContainerSpec(pod(share), app({ pidMode }), PAUSE_PID, V1, APP_ROOTFS);
    for (const [type, path] of Object.entries(expected)) {
      const found = ns(spec, type);
      expect(found, type).toHaveLength(1);
      expect(found[0], type).toEqual(path === undefined ? { type } : { type, path });
    }
  });

  it.each(cases)('%s: always its own mount namespace, exactly one entry per type', (_what, share, pidMode) => {
    for (const ctx of [V1, V2]) {
      const spec = planContainerSpec(pod(share), app({ pidMode }), PAUSE_PID, ctx, APP_ROOTFS);
      expect(ns(spec, 'mount')).toEqual([{ type: 'mount' }]);
      const types = spec.linux.namespaces.map((n) => n.type);
      expect(new Set(types).size).toBe(types.length);
      expect(types.sort()).toEqual(ctx.cgroupVersion === 2 ? ['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts'] : ['ipc', 'mount', 'network', 'pid', 'uts']);
    }
  });

  it.each(cases)('%s: never a hostname when joining uts, the container name otherwise', (_what, share, pidMode) => {
    const spec = planContainerSpec(pod(share), app({ pidMode }), PAUSE_PID, V1, APP_ROOTFS);
    if (share.includes('uts')) {
      expect(spec).not.toHaveProperty('hostname');
      expect(JSON.stringify(spec)).not.toContain('"hostname"');
    } else {
      expect(spec.hostname).toBe('app');
    }
  });

  it('joins with whatever pause pid it is given', () => {
    const spec = planContainerSpec(pod(), app(), 7, V1, APP_ROOTFS);
    expect(ns(spec, 'network')).toEqual([{ type: 'network', path: '/proc/7/ns/net' }]);
  });

  it('adds a private cgroup namespace on v2 only', () => {
    expect(ns(planContainerSpec(pod(), app(), PAUSE_PID, V1, APP_ROOTFS), 'cgroup')).toEqual([]);
    expect(ns(planContainerSpec(pod(), app(), PAUSE_PID, V2, APP_ROOTFS), 'cgroup')).toEqual([{ type: 'cgroup' }]);
  });
});

describe('planContainerSpec: process, cgroup, limits, seccomp', () => {
  it('lives in /barepod/<pod>/<container>', () => {
    expect(planContainerSpec(pod(), app(), PAUSE_PID, V1, APP_ROOTFS).linux.cgroupsPath).toBe('/barepod/web/app');
    expect(planContainerSpec(pod(), app(), PAUSE_PID, { ...V1, cgroupRoot: 'test-x1' }, APP_ROOTFS).linux.cgroupsPath).toBe('/test-x1/web/app');
  });

  it('runs the container args, env, workdir and user on a writable rootfs with the default capabilities', () => {
    const ctr = app({ args: ['sleep', '1'], env: ['A=1', 'PATH=/bin'], workdir: '/srv', user: { uid: 1000, gid: 100 } });
    const spec = planContainerSpec(pod(), ctr, PAUSE_PID, V1, '/r');
    expect(spec.process.args).toEqual(['sleep', '1']);
    expect(spec.process.env).toEqual(['HOSTNAME=web', 'A=1', 'PATH=/bin']);
    expect(spec.process.cwd).toBe('/srv');
    expect(spec.process.user).toEqual({ uid: 1000, gid: 100 });
    expect(spec.root).toEqual({ path: '/r', readonly: false });
    expect(spec.process.capabilities.bounding).toEqual(DEFAULT_CAPABILITIES);
  });

  it('lets the container override HOSTNAME in its env (the last entry is the one runc applies)', () => {
    const spec = planContainerSpec(pod(), app({ env: ['HOSTNAME=mine'] }), PAUSE_PID, V1, APP_ROOTFS);
    // runc 1.1 applies config env with setenv in order, so the last HOSTNAME wins. The config
    // still lists both entries: see the withEnv duplicate-key test in spec-options.test.ts.
    expect(spec.process.env.filter((e) => e.startsWith('HOSTNAME=')).at(-1)).toBe('HOSTNAME=mine');
  });

  it('writes memory (swap capped), cpu quota and pids limits only when set', () => {
    const limited = planContainerSpec(pod(), app({ limits: { memoryBytes: 67108864, cpuMillis: 500, pids: 32 } }), PAUSE_PID, V1, APP_ROOTFS);
    expect(limited.linux.resources).toEqual({
      devices: [{ allow: false, access: 'rwm' }],
      memory: { limit: 67108864, swap: 67108864 },
      cpu: { quota: 50_000, period: 100_000 },
      pids: { limit: 32 },
    });
    const free = planContainerSpec(pod(), app(), PAUSE_PID, V1, APP_ROOTFS);
    expect(free.linux.resources).toEqual({ devices: [{ allow: false, access: 'rwm' }] });
  });

  it('does not copy pod-level limits onto the container (they go on the pod cgroup parent)', () => {
    const spec = planContainerSpec(pod(undefined, { limits: { memoryBytes: 1 << 30 } }), app(), PAUSE_PID, V1, APP_ROOTFS);
    expect(spec.linux.resources).not.toHaveProperty('memory');
  });

  it('applies the default seccomp filter, and none for seccomp=unconfined', () => {
    expect(planContainerSpec(pod(), app(), PAUSE_PID, V1, APP_ROOTFS).linux.seccomp).toEqual(SECCOMP);
    expect(planContainerSpec(pod(), app({ seccomp: 'unconfined' }), PAUSE_PID, V1, APP_ROOTFS).linux).not.toHaveProperty('seccomp');
  });

  it('annotates pod and container', () => {
    expect(planContainerSpec(pod(), app(), PAUSE_PID, V1, APP_ROOTFS).annotations).toEqual({ 'io.barepod.pod': 'web', 'io.barepod.container': 'app' });
  });

  it('is deterministic and does not modify its inputs', () => {
    const p = pod(['net', 'ipc', 'uts', 'pid']);
    const c = app({ env: ['A=1'], limits: { pids: 3 } });
    const before = structuredClone({ p, c, V1 });
    const a = planContainerSpec(p, c, PAUSE_PID, V1, APP_ROOTFS);
    expect(planContainerSpec(p, c, PAUSE_PID, V1, APP_ROOTFS)).toEqual(a);
    expect({ p, c, V1 }).toEqual(before);
    a.process.args.push('mutated');
    expect(c.args).toEqual(['httpd', '-f', '-p', '8080']);
  });
});

describe('plan helpers', () => {
  it('maps our namespace names to OCI types and /proc entries', () => {
    expect(NAMESPACES).toEqual({
      net: { oci: 'network', proc: 'net' },
      ipc: { oci: 'ipc', proc: 'ipc' },
      uts: { oci: 'uts', proc: 'uts' },
      pid: { oci: 'pid', proc: 'pid' },
    });
  });

  it.each<[SharedNamespace, string]>([
    ['net', '/proc/4242/ns/net'],
    ['ipc', '/proc/4242/ns/ipc'],
    ['uts', '/proc/4242/ns/uts'],
    ['pid', '/proc/4242/ns/pid'],
  ])('sandboxNamespacePath(4242, %s) = %s', (n, path) => {
    expect(sandboxNamespacePath(PAUSE_PID, n)).toBe(path);
  });

  it('names runc ids and cgroups', () => {
    expect(runcId('web', 'app')).toBe('web.app');
    expect(runcId('web', SANDBOX_NAME)).toBe('web._pause');
    expect(podCgroup(V1, 'web')).toBe('/barepod/web');
    expect(containerCgroup(V2, 'web', 'app')).toBe('/barepod/web/app');
  });

  it.each<[SharedNamespace[], ContainerDefinition['pidMode'], SharedNamespace[]]>([
    [['net', 'ipc', 'uts'], 'pod', ['net', 'ipc', 'uts']],
    [['net', 'ipc', 'uts', 'pid'], 'pod', ['net', 'ipc', 'uts', 'pid']],
    [['net', 'ipc', 'uts', 'pid'], 'private', ['net', 'ipc', 'uts']],
    [['pid'], 'private', []],
    [[], 'pod', []],
  ])('joinedNamespaces(share %j, pidMode %s) = %j', (share, pidMode, joined) => {
    expect(joinedNamespaces(pod(share), { pidMode })).toEqual(joined);
  });
});
