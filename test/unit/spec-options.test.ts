import { describe, it, expect } from 'vitest';
import { DEFAULT_CAPABILITIES, DEFAULT_PATH, defaultSpec } from '../../src/oci/default-spec.js';
import {
  CPU_PERIOD,
  applyOpts,
  cpuQuota,
  withAnnotations,
  withArgs,
  withCgroupsPath,
  withCpuLimit,
  withCwd,
  withEnv,
  withHostname,
  withMemoryLimit,
  withMount,
  withNamespace,
  withoutHostname,
  withoutMounts,
  withoutNamespace,
  withPidsLimit,
  withRoot,
  withSeccomp,
  withUser,
  type SpecOpt,
} from '../../src/oci/options.js';
import type { LinuxSeccomp } from '../../src/oci/seccomp.js';
import type { Spec } from '../../src/oci/types.js';

const SECCOMP: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [] };

/** A spec with a bit of everything, so every option has something to keep, replace or remove. */
function busySpec(): Spec {
  return applyOpts(
    defaultSpec(),
    withHostname('web'),
    withNamespace('network', '/proc/1/ns/net'),
    withNamespace('ipc'),
    withEnv(['A=1', 'B=2']),
    withSeccomp(SECCOMP),
    withAnnotations({ 'io.barepod.pod': 'web' }),
    withMemoryLimit(1024),
  );
}

describe('defaultSpec', () => {
  it('is the OCI 1.0.2 secure default: default caps, no new privileges, no namespaces, no host devices', () => {
    const s = defaultSpec();
    expect(s.ociVersion).toBe('1.0.2');
    expect(s.process.capabilities.bounding).toEqual(DEFAULT_CAPABILITIES);
    expect(s.process.capabilities.effective).toEqual(DEFAULT_CAPABILITIES);
    expect(s.process.capabilities.permitted).toEqual(DEFAULT_CAPABILITIES);
    expect(s.process.capabilities).not.toHaveProperty('ambient');
    expect(DEFAULT_CAPABILITIES).not.toContain('CAP_SYS_ADMIN');
    expect(DEFAULT_CAPABILITIES).toHaveLength(14);
    expect(s.process.noNewPrivileges).toBe(true);
    expect(s.process.env).toEqual([DEFAULT_PATH]);
    expect(s.process.user).toEqual({ uid: 0, gid: 0 });
    expect(s.process.cwd).toBe('/');
    expect(s.linux.namespaces).toEqual([]);
    expect(s.linux.resources?.devices).toEqual([{ allow: false, access: 'rwm' }]);
    expect(s.linux.maskedPaths).toContain('/proc/kcore');
    expect(s.linux.readonlyPaths).toContain('/proc/sys');
    expect(s).not.toHaveProperty('hostname');
    expect(s.linux).not.toHaveProperty('seccomp');
    expect(s.linux).not.toHaveProperty('cgroupsPath');
    expect(s).not.toHaveProperty('process.rlimits');
  });

  it('mounts /sys and /sys/fs/cgroup read-only and every mount nosuid', () => {
    const s = defaultSpec();
    expect(s.mounts.map((m) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']);
    for (const m of s.mounts) expect(m.options).toContain('nosuid');
    expect(s.mounts.find((m) => m.destination === '/sys')?.options).toContain('ro');
    expect(s.mounts.find((m) => m.destination === '/sys/fs/cgroup')?.options).toContain('ro');
  });

  it('returns a fresh object each time, sharing no arrays with the capability constant', () => {
    const a = defaultSpec();
    a.process.capabilities.bounding.push('CAP_SYS_ADMIN');
    a.mounts.pop();
    a.linux.namespaces.push({ type: 'pid' });
    const b = defaultSpec();
    expect(b.process.capabilities.bounding).toEqual(DEFAULT_CAPABILITIES);
    expect(DEFAULT_CAPABILITIES).not.toContain('CAP_SYS_ADMIN');
    expect(b.mounts).toHaveLength(7);
    expect(b.linux.namespaces).toEqual([]);
  });
});

describe('withNamespace / withoutNamespace', () => {
  it('appends a namespace of a new type, without a path for a new one', () => {
    const s = withNamespace('pid')(defaultSpec());
    expect(s.linux.namespaces).toEqual([{ type: 'pid' }]);
    expect(s.linux.namespaces[0]).not.toHaveProperty('path');
  });

  it('replaces the namespace of the same type instead of adding a second', () => {
    const s = applyOpts(defaultSpec(), withNamespace('network'), withNamespace('ipc'), withNamespace('network', '/proc/42/ns/net'));
    expect(s.linux.namespaces).toEqual([{ type: 'ipc' }, { type: 'network', path: '/proc/42/ns/net' }]);
  });

  it('drops a path when the namespace is replaced by a new one', () => {
    const s = applyOpts(defaultSpec(), withNamespace('uts', '/proc/1/ns/uts'), withNamespace('uts'));
    expect(s.linux.namespaces).toEqual([{ type: 'uts' }]);
  });

  it('removes a namespace type, keeping the others and tolerating an absent one', () => {
    const s = applyOpts(defaultSpec(), withNamespace('pid'), withNamespace('mount'), withoutNamespace('pid'), withoutNamespace('user'));
    expect(s.linux.namespaces).toEqual([{ type: 'mount' }]);
  });
});

describe('withEnv', () => {
  it.each<[string[], string[], string[]]>([
    [[DEFAULT_PATH], ['A=1'], [DEFAULT_PATH, 'A=1']],
    [[DEFAULT_PATH, 'A=1', 'B=2'], ['A=3'], [DEFAULT_PATH, 'B=2', 'A=3']],
    [[DEFAULT_PATH], ['PATH=/bin'], ['PATH=/bin']],
    [['A=x=y'], ['A=1=2'], ['A=1=2']],
    [['AB=1'], ['A=2'], ['AB=1', 'A=2']],
    [['A=1'], ['A='], ['A=']],
    [['A=1'], [], ['A=1']],
  ])('%j + %j → %j', (before, added, after) => {
    const base: Spec = { ...defaultSpec(), process: { ...defaultSpec().process, env: before } };
    expect(withEnv(added)(base).process.env).toEqual(after);
  });
});

describe('withEnv: duplicate keys within one call', () => {
  // The last value of a name wins, as in a shell; config.json keeps only that one.
  it('keeps only the last value of a key given twice', () => {
    expect(withEnv(['A=1', 'B=2', 'A=3'])(defaultSpec()).process.env).toEqual([DEFAULT_PATH, 'B=2', 'A=3']);
  });
});

describe('hostname', () => {
  it('withHostname sets it and withoutHostname removes the key entirely', () => {
    const s = withHostname('web')(defaultSpec());
    expect(s.hostname).toBe('web');
    const t = withoutHostname(s);
    expect(t).not.toHaveProperty('hostname');
    expect(JSON.stringify(t)).not.toContain('"hostname"');
  });

  it('withoutHostname tolerates a spec without one', () => {
    expect(withoutHostname(defaultSpec())).toEqual(defaultSpec());
  });
});

describe('withSeccomp', () => {
  it('sets the filter', () => {
    expect(withSeccomp(SECCOMP)(defaultSpec()).linux.seccomp).toEqual(SECCOMP);
  });

  it('removes the filter when given undefined (unconfined), keeping the rest of linux', () => {
    const s = withSeccomp(undefined)(busySpec());
    expect(s.linux).not.toHaveProperty('seccomp');
    expect(s.linux.namespaces).toEqual(busySpec().linux.namespaces);
    expect(s.linux.maskedPaths).toEqual(defaultSpec().linux.maskedPaths);
  });
});

describe('withMount / withoutMounts', () => {
  it('replaces the mount at the same destination and appends a new one', () => {
    const tmp = { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] };
    const shm = { destination: '/dev/shm', type: 'bind', source: '/run/barepod/pods/web/shm', options: ['rbind'] };
    const s = applyOpts(defaultSpec(), withMount(tmp), withMount(shm));
    expect(s.mounts.filter((m) => m.destination === '/dev/shm')).toEqual([shm]);
    expect(s.mounts.filter((m) => m.destination === '/tmp')).toEqual([tmp]);
    expect(s.mounts).toHaveLength(defaultSpec().mounts.length + 1);
  });

  it('removes mounts by destination', () => {
    const s = withoutMounts('/dev/mqueue', '/sys/fs/cgroup', '/nowhere')(defaultSpec());
    expect(s.mounts.map((m) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/dev/shm', '/sys']);
  });
});

describe('resource limits', () => {
  it.each<[number, number]>([
    [250, 25_000],
    [500, 50_000],
    [1000, 100_000],
    [1500, 150_000],
    [4000, 400_000],
    [10, 1000],
    [1, 1000], // 100us would be below the kernel's 1ms floor
    [9, 1000],
    [11, 1100],
  ])('cpuQuota(%im) = %ius over a %ius period', (millis, quota) => {
    expect(cpuQuota(millis)).toBe(quota);
    expect(withCpuLimit(millis)(defaultSpec()).linux.resources?.cpu).toEqual({ quota, period: CPU_PERIOD });
  });

  it('uses a 100ms CFS period', () => {
    expect(CPU_PERIOD).toBe(100_000);
  });

  it('caps swap at the memory limit (no swap beyond it)', () => {
    expect(withMemoryLimit(64 * 1024 * 1024)(defaultSpec()).linux.resources?.memory).toEqual({ limit: 67108864, swap: 67108864 });
  });

  it('sets a pids limit', () => {
    expect(withPidsLimit(32)(defaultSpec()).linux.resources?.pids).toEqual({ limit: 32 });
  });

  it('leaves the spec untouched (same object) for an undefined limit', () => {
    const s = defaultSpec();
    expect(withMemoryLimit(undefined)(s)).toBe(s);
    expect(withCpuLimit(undefined)(s)).toBe(s);
    expect(withPidsLimit(undefined)(s)).toBe(s);
  });

  it('combines limits without losing the device rules', () => {
    const s = applyOpts(defaultSpec(), withMemoryLimit(100), withCpuLimit(500), withPidsLimit(8));
    expect(s.linux.resources).toEqual({
      devices: [{ allow: false, access: 'rwm' }],
      memory: { limit: 100, swap: 100 },
      cpu: { quota: 50_000, period: 100_000 },
      pids: { limit: 8 },
    });
  });

  it('tolerates a spec without resources', () => {
    const base = defaultSpec();
    delete base.linux.resources;
    expect(withPidsLimit(4)(base).linux.resources).toEqual({ pids: { limit: 4 } });
  });
});

describe('process and root options', () => {
  it.each<[string, SpecOpt, (s: Spec) => unknown, unknown]>([
    ['withArgs', withArgs(['httpd', '-f']), (s) => s.process.args, ['httpd', '-f']],
    ['withCwd', withCwd('/srv'), (s) => s.process.cwd, '/srv'],
    ['withUser', withUser(1000, 100), (s) => s.process.user, { uid: 1000, gid: 100 }],
    ['withRoot default', withRoot('/r'), (s) => s.root, { path: '/r', readonly: false }],
    ['withRoot readonly', withRoot('/r', true), (s) => s.root, { path: '/r', readonly: true }],
    ['withCgroupsPath', withCgroupsPath('/barepod/web/app'), (s) => s.linux.cgroupsPath, '/barepod/web/app'],
  ])('%s', (_name, opt, get, expected) => {
    expect(get(opt(defaultSpec()))).toEqual(expected);
  });

  it('withArgs copies the array it is given', () => {
    const args = ['sh'];
    const s = withArgs(args)(defaultSpec());
    args.push('-c');
    expect(s.process.args).toEqual(['sh']);
  });

  it('withAnnotations merges, later keys winning', () => {
    const s = applyOpts(defaultSpec(), withAnnotations({ a: '1', b: '2' }), withAnnotations({ b: '3' }));
    expect(s.annotations).toEqual({ a: '1', b: '3' });
  });

  it('applyOpts folds in order and returns the spec itself for no options', () => {
    const s = defaultSpec();
    expect(applyOpts(s)).toBe(s);
    expect(applyOpts(s, withCwd('/a'), withCwd('/b')).process.cwd).toBe('/b');
  });
});

describe('purity: no option mutates its input', () => {
  const opts: [string, SpecOpt][] = [
    ['withArgs', withArgs(['x'])],
    ['withEnv', withEnv(['A=9', 'C=3'])],
    ['withCwd', withCwd('/x')],
    ['withUser', withUser(1, 2)],
    ['withRoot', withRoot('/x', true)],
    ['withHostname', withHostname('other')],
    ['withoutHostname', withoutHostname],
    ['withNamespace new', withNamespace('pid')],
    ['withNamespace replace', withNamespace('network')],
    ['withoutNamespace', withoutNamespace('ipc')],
    ['withCgroupsPath', withCgroupsPath('/a/b')],
    ['withMemoryLimit', withMemoryLimit(5)],
    ['withCpuLimit', withCpuLimit(5)],
    ['withPidsLimit', withPidsLimit(5)],
    ['withSeccomp set', withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW' })],
    ['withSeccomp undefined', withSeccomp(undefined)],
    ['withMount', withMount({ destination: '/proc', type: 'proc', source: 'proc' })],
    ['withoutMounts', withoutMounts('/proc')],
    ['withAnnotations', withAnnotations({ 'io.barepod.pod': 'db', x: 'y' })],
  ];
  it.each(opts)('%s', (_name, opt) => {
    const input = busySpec();
    const before = structuredClone(input);
    const out = opt(input);
    expect(input).toEqual(before);
    expect(out).not.toBe(input);
  });
});
