import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, it, expect, vi } from 'vitest';
import { BarepodError } from '../../src/errors.js';
import type { Limits } from '../../src/model.js';
import {
  CgroupFs,
  detectCgroupVersion,
  flatKey,
  limitFiles,
  parseCgroupLimit,
  parseCpuMax,
  readCgroupMounts,
  unescapeMount,
} from '../../src/runtime/cgroupfs.js';

const Mi = 1024 * 1024;
const ALL: Limits = { memoryBytes: 64 * Mi, cpuMillis: 500, pids: 32 };

describe('limitFiles', () => {
  it.each<[string, 1 | 2, Limits, { controller: string; file: string; value: string }[]]>([
    [
      'v2, every limit',
      2,
      ALL,
      [
        { controller: 'memory', file: 'memory.max', value: '67108864' },
        { controller: 'cpu', file: 'cpu.max', value: '50000 100000' },
        { controller: 'pids', file: 'pids.max', value: '32' },
      ],
    ],
    [
      'v1, every limit (period before quota)',
      1,
      ALL,
      [
        { controller: 'memory', file: 'memory.limit_in_bytes', value: '67108864' },
        { controller: 'cpu', file: 'cpu.cfs_period_us', value: '100000' },
        { controller: 'cpu', file: 'cpu.cfs_quota_us', value: '50000' },
        { controller: 'pids', file: 'pids.max', value: '32' },
      ],
    ],
    ['v2, no limits', 2, {}, []],
    ['v1, no limits', 1, {}, []],
    ['v2, cpu 1m hits the 1ms floor', 2, { cpuMillis: 1 }, [{ controller: 'cpu', file: 'cpu.max', value: '1000 100000' }]],
    ['v2, 2.5 cpus', 2, { cpuMillis: 2500 }, [{ controller: 'cpu', file: 'cpu.max', value: '250000 100000' }]],
    ['v1, pids only', 1, { pids: 1 }, [{ controller: 'pids', file: 'pids.max', value: '1' }]],
    ['v1, memory only', 1, { memoryBytes: 1 }, [{ controller: 'memory', file: 'memory.limit_in_bytes', value: '1' }]],
  ])('%s', (_what, version, limits, files) => {
    expect(limitFiles(version, limits)).toEqual(files);
  });
});

/** A fresh temp dir per test, removed after it. */
let tmp = '';
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-cgroupfs-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const rel = (p: string) => path.relative(tmp, p);

/**
 * A fake unified (v2) hierarchy in a plain directory. The kernel fills every
 * new cgroup's cgroup.controllers from its parent's subtree_control; a plain
 * directory does not, so the intermediate `barepod` level gets its
 * cgroup.controllers written here by hand, as the kernel would have it.
 */
function fakeV2(controllers = 'cpu memory pids hugetlb'): CgroupFs {
  fs.writeFileSync(path.join(tmp, 'cgroup.controllers'), `${controllers}\n`);
  fs.writeFileSync(path.join(tmp, 'cgroup.subtree_control'), '');
  fs.mkdirSync(path.join(tmp, 'barepod'));
  fs.writeFileSync(path.join(tmp, 'barepod', 'cgroup.controllers'), `${controllers}\n`);
  return new CgroupFs(2, [{ mountpoint: tmp, version: 2, controllers: [] }]);
}

describe('CgroupFs.createParent on a fake v2 tree', () => {
  it('enables each needed controller in every ancestor, then writes the limits in the pod parent', () => {
    const cg = fakeV2();
    // The kernel reads each write to cgroup.subtree_control as one command ("+memory"), so the
    // honest check is the sequence of writes; a plain file only keeps the last one.
    const writes = vi.spyOn(fs, 'writeFileSync');
    cg.createParent('/barepod/web', ALL);
    expect(writes.mock.calls.map(([file, value]) => [rel(String(file)), value])).toEqual([
      ['cgroup.subtree_control', '+memory'],
      ['cgroup.subtree_control', '+cpu'],
      ['cgroup.subtree_control', '+pids'],
      ['barepod/cgroup.subtree_control', '+memory'],
      ['barepod/cgroup.subtree_control', '+cpu'],
      ['barepod/cgroup.subtree_control', '+pids'],
      ['barepod/web/memory.max', '67108864'],
      ['barepod/web/cpu.max', '50000 100000'],
      ['barepod/web/pids.max', '32'],
    ]);
    const read = (p: string) => fs.readFileSync(path.join(tmp, p), 'utf8');
    expect(read('cgroup.subtree_control')).toBe('+pids');
    expect(read('barepod/cgroup.subtree_control')).toBe('+pids');
    expect(read('barepod/web/memory.max')).toBe('67108864');
    expect(read('barepod/web/cpu.max')).toBe('50000 100000');
    expect(read('barepod/web/pids.max')).toBe('32');
    expect(cg.read('memory', '/barepod/web', 'memory.max')).toBe('67108864');
    expect(cg.read('cpu', '/barepod/web', 'cpu.max')).toBe('50000 100000');
  });

  it('skips controllers an ancestor already has enabled', () => {
    const cg = fakeV2();
    fs.writeFileSync(path.join(tmp, 'cgroup.subtree_control'), 'cpu memory pids\n');
    const writes = vi.spyOn(fs, 'writeFileSync');
    cg.createParent('/barepod/web', { pids: 4 });
    expect(writes.mock.calls.map(([file, value]) => [rel(String(file)), value])).toEqual([
      ['barepod/cgroup.subtree_control', '+pids'],
      ['barepod/web/pids.max', '4'],
    ]);
  });

  it('only creates the directories when there are no limits', () => {
    const cg = fakeV2();
    const writes = vi.spyOn(fs, 'writeFileSync');
    cg.createParent('/barepod/web', {});
    expect(writes).not.toHaveBeenCalled();
    expect(fs.statSync(path.join(tmp, 'barepod', 'web')).isDirectory()).toBe(true);
  });

  it.each([
    ['pids', 'cpu memory', { pids: 1 }],
    ['memory', 'cpu pids hugetlb', { memoryBytes: Mi }],
    ['cpu', 'memory', { cpuMillis: 100 }],
  ])('refuses a limit whose controller (%s) is not available, naming it', (controller, available, limits) => {
    const cg = fakeV2(available);
    let err: unknown;
    try {
      cg.createParent('/barepod/web', limits);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BarepodError);
    const e = err as BarepodError;
    expect(e.code).toBe('missing-tool');
    expect(e.message).toBe(`the ${controller} controller is not available in ${tmp} (cgroup v2): cannot set the pod's ${controller} limit`);
    expect(e.hint).toMatch(/subtree_control/);
    expect(fs.existsSync(path.join(tmp, 'barepod', 'web'))).toBe(false);
  });

  it('refuses when no cgroup2 hierarchy is known', () => {
    expect(() => new CgroupFs(2, []).createParent('/barepod/web', ALL)).toThrow(/no cgroup2 hierarchy is mounted/);
  });

  it('reports a failed write with the file and value, keeping the cause', () => {
    const cg = fakeV2();
    fs.mkdirSync(path.join(tmp, 'barepod', 'web', 'pids.max'), { recursive: true }); // EISDIR on write
    let err: unknown;
    try {
      cg.createParent('/barepod/web', { pids: 8 });
    } catch (e) {
      err = e;
    }
    expect((err as BarepodError).code).toBe('tool-failed');
    expect((err as BarepodError).message).toContain(`cannot write "8" to ${path.join(tmp, 'barepod', 'web', 'pids.max')}`);
    expect((err as BarepodError).cause).toBeInstanceOf(Error);
  });
});

describe('CgroupFs.createParent on fake v1 hierarchies', () => {
  function fakeV1(): CgroupFs {
    const mounts = [
      { mountpoint: path.join(tmp, 'memory'), version: 1 as const, controllers: ['memory'] },
      { mountpoint: path.join(tmp, 'cpu,cpuacct'), version: 1 as const, controllers: ['cpu', 'cpuacct'] },
      { mountpoint: path.join(tmp, 'pids'), version: 1 as const, controllers: ['pids'] },
      { mountpoint: path.join(tmp, 'unified'), version: 2 as const, controllers: [] },
    ];
    for (const m of mounts) fs.mkdirSync(m.mountpoint);
    return new CgroupFs(1, mounts);
  }

  it('writes each limit in the hierarchy of its controller', () => {
    const cg = fakeV1();
    const writes = vi.spyOn(fs, 'writeFileSync');
    cg.createParent('/barepod/web', ALL);
    expect(writes.mock.calls.map(([file, value]) => [rel(String(file)), value])).toEqual([
      ['memory/barepod/web/memory.limit_in_bytes', '67108864'],
      ['cpu,cpuacct/barepod/web/cpu.cfs_period_us', '100000'],
      ['cpu,cpuacct/barepod/web/cpu.cfs_quota_us', '50000'],
      ['pids/barepod/web/pids.max', '32'],
    ]);
    expect(cg.dirFor('cpu', '/barepod/web')).toBe(path.join(tmp, 'cpu,cpuacct', 'barepod', 'web'));
    expect(cg.dirFor('cpuacct', '/barepod/web')).toBe(path.join(tmp, 'cpu,cpuacct', 'barepod', 'web'));
    expect(cg.dirFor('hugetlb', '/barepod/web')).toBeUndefined();
    expect(cg.read('hugetlb', '/barepod/web', 'hugetlb.2MB.limit_in_bytes')).toBeUndefined();
    expect(cg.read('memory', '/barepod/web', 'memory.usage_in_bytes')).toBeUndefined();
    // the parent exists in every hierarchy runc uses, the hybrid unified one included
    expect(cg.dirsOf('/barepod/web').map(rel)).toEqual(['memory/barepod/web', 'cpu,cpuacct/barepod/web', 'pids/barepod/web', 'unified/barepod/web']);
  });

  it('refuses a limit whose controller is not mounted, naming it', () => {
    const cg = new CgroupFs(1, [{ mountpoint: path.join(tmp, 'memory'), version: 1, controllers: ['memory'] }]);
    let err: unknown;
    try {
      cg.createParent('/barepod/web', { pids: 3 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BarepodError);
    expect(err).toMatchObject({ code: 'missing-tool', message: "the pids cgroup controller is not mounted: cannot set the pod's pids limit" });
  });
});

describe('CgroupFs.removeTree', () => {
  function mkdirs(...dirs: string[]): void {
    for (const d of dirs) fs.mkdirSync(path.join(tmp, d), { recursive: true });
  }

  it('removes every directory below the pod, deepest first, then the top dir when empty', async () => {
    mkdirs('barepod/web/_pause', 'barepod/web/app/nested/deeper', 'barepod/web/conmon');
    const cg = new CgroupFs(2, [{ mountpoint: tmp, version: 2, controllers: [] }]);
    const rmdirs = vi.spyOn(fs, 'rmdirSync');
    expect(await cg.removeTree('/barepod/web', '/barepod')).toEqual([]);
    const order = rmdirs.mock.calls.map(([d]) => rel(String(d)));
    expect(order.slice(0, -1).sort()).toEqual([
      'barepod/web',
      'barepod/web/_pause',
      'barepod/web/app',
      'barepod/web/app/nested',
      'barepod/web/app/nested/deeper',
      'barepod/web/conmon',
    ]);
    // every directory goes after everything below it
    for (const [i, d] of order.entries()) {
      for (const later of order.slice(i + 1)) expect(later.startsWith(`${d}/`), `${later} after ${d}`).toBe(false);
    }
    expect(order.at(-2)).toBe('barepod/web');
    expect(order.at(-1)).toBe('barepod');
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it('leaves the top dir when another pod still uses it', async () => {
    mkdirs('barepod/web/app', 'barepod/db/app');
    const cg = new CgroupFs(2, [{ mountpoint: tmp, version: 2, controllers: [] }]);
    expect(await cg.removeTree('/barepod/web', '/barepod')).toEqual([]);
    expect(fs.readdirSync(path.join(tmp, 'barepod'))).toEqual(['db']);
    expect(fs.existsSync(path.join(tmp, 'barepod', 'db', 'app'))).toBe(true);
  });

  it('removes the pod in every v1 hierarchy that has it and ignores those that do not', async () => {
    mkdirs('memory/barepod/web/app', 'pids/barepod/web/app', 'cpu/barepod');
    const cg = new CgroupFs(1, [
      { mountpoint: path.join(tmp, 'memory'), version: 1, controllers: ['memory'] },
      { mountpoint: path.join(tmp, 'pids'), version: 1, controllers: ['pids'] },
      { mountpoint: path.join(tmp, 'cpu'), version: 1, controllers: ['cpu'] },
    ]);
    expect(await cg.removeTree('/barepod/web', '/barepod')).toEqual([]);
    expect(fs.readdirSync(path.join(tmp, 'memory'))).toEqual([]);
    expect(fs.readdirSync(path.join(tmp, 'pids'))).toEqual([]);
    expect(fs.readdirSync(path.join(tmp, 'cpu'))).toEqual([]);
  });

  it('keeps the top dir when alsoTop is not given', async () => {
    mkdirs('barepod/web');
    const cg = new CgroupFs(2, [{ mountpoint: tmp, version: 2, controllers: [] }]);
    expect(await cg.removeTree('/barepod/web')).toEqual([]);
    expect(fs.readdirSync(path.join(tmp, 'barepod'))).toEqual([]);
  });

  it('returns nothing for a pod that has no cgroup', async () => {
    const cg = new CgroupFs(2, [{ mountpoint: tmp, version: 2, controllers: [] }]);
    expect(await cg.removeTree('/barepod/gone', '/barepod')).toEqual([]);
  });

  it('reports the directories it could not remove (ENOTEMPTY is not retried) and keeps going', async () => {
    mkdirs('barepod/web/stuck', 'barepod/web/app');
    // A plain file makes rmdir fail with ENOTEMPTY, standing in for a cgroup that still has tasks.
    fs.writeFileSync(path.join(tmp, 'barepod/web/stuck/file'), '');
    const cg = new CgroupFs(2, [{ mountpoint: tmp, version: 2, controllers: [] }]);
    const failed = await cg.removeTree('/barepod/web', '/barepod');
    expect(failed.map(rel).sort()).toEqual(['barepod/web', 'barepod/web/stuck']);
    expect(fs.existsSync(path.join(tmp, 'barepod/web/app'))).toBe(false);
    expect(fs.existsSync(path.join(tmp, 'barepod'))).toBe(true);
  });
});

describe('readCgroupMounts', () => {
  const FIXTURE = fileURLToPath(new URL('./golden/mountinfo-v1-hybrid.txt', import.meta.url));

  it('lists every cgroup hierarchy of a v1 hybrid host with its controllers, unescaping mount points', () => {
    expect(readCgroupMounts(FIXTURE)).toEqual([
      { mountpoint: '/sys/fs/cgroup/unified', version: 2, controllers: [] },
      { mountpoint: '/sys/fs/cgroup/systemd', version: 1, controllers: ['name=systemd'] },
      { mountpoint: '/sys/fs/cgroup/cpu,cpuacct', version: 1, controllers: ['cpu', 'cpuacct'] },
      { mountpoint: '/sys/fs/cgroup/cpuset', version: 1, controllers: ['cpuset'] },
      { mountpoint: '/sys/fs/cgroup/memory', version: 1, controllers: ['memory'] },
      { mountpoint: '/sys/fs/cgroup/devices', version: 1, controllers: ['devices'] },
      { mountpoint: '/sys/fs/cgroup/freezer', version: 1, controllers: ['freezer'] },
      { mountpoint: '/sys/fs/cgroup/net_cls,net_prio', version: 1, controllers: ['net_cls', 'net_prio'] },
      { mountpoint: '/sys/fs/cgroup/pids', version: 1, controllers: ['pids'] },
      { mountpoint: '/sys/fs/cgroup/blkio', version: 1, controllers: ['blkio'] },
      { mountpoint: '/sys/fs/cgroup/perf_event', version: 1, controllers: ['perf_event'] },
      { mountpoint: '/sys/fs/cgroup/hugetlb', version: 1, controllers: ['hugetlb'] },
      { mountpoint: '/mnt/my cgroups', version: 1, controllers: ['name=test'] },
      { mountpoint: '/mnt/back\\slash\ttab', version: 2, controllers: [] },
    ]);
  });

  it('returns nothing for a mountinfo without cgroup mounts, and skips malformed lines', () => {
    const file = path.join(tmp, 'mountinfo');
    fs.writeFileSync(file, '22 1 8:1 / / rw - ext4 /dev/sda1 rw\ngarbage\n\n');
    expect(readCgroupMounts(file)).toEqual([]);
  });

  it('reads this process’s own mountinfo without throwing', () => {
    for (const m of readCgroupMounts()) {
      expect([1, 2]).toContain(m.version);
      expect(m.mountpoint.startsWith('/')).toBe(true);
    }
  });

  it.each([
    ['/plain', '/plain'],
    ['/a\\040b', '/a b'],
    ['/tab\\011x', '/tab\tx'],
    ['/nl\\012x', '/nl\nx'],
    ['/bs\\134x', '/bs\\x'],
    ['/not\\8escape', '/not\\8escape'],
  ])('unescapeMount(%j) = %j', (escaped, plain) => {
    expect(unescapeMount(escaped)).toBe(plain);
  });
});

describe('detectCgroupVersion', () => {
  it('says v1 for a directory that is not cgroup2 and for a missing path', () => {
    expect(detectCgroupVersion(tmp)).toBe(1);
    expect(detectCgroupVersion(path.join(tmp, 'missing'))).toBe(1);
  });
});

describe('reading limits back: parseCgroupLimit, parseCpuMax, flatKey', () => {
  it.each<[string | undefined, number | 'max' | undefined]>([
    ['67108864\n', 67108864],
    ['max\n', 'max'],
    ['-1\n', 'max'], // v1 cpu.cfs_quota_us
    ['9223372036854771712\n', 'max'], // v1 memory.limit_in_bytes with no limit
    ['0', 0],
    ['', undefined],
    ['12k', undefined],
    [undefined, undefined],
  ])('parseCgroupLimit(%j) = %j', (text, value) => {
    expect(parseCgroupLimit(text)).toBe(value);
  });

  it.each<[string | undefined, { quota: number | 'max'; period: number } | undefined]>([
    ['max 100000\n', { quota: 'max', period: 100000 }],
    ['50000 100000\n', { quota: 50000, period: 100000 }],
    ['50000', undefined],
    ['50000 0', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('parseCpuMax(%j) = %j', (text, value) => {
    expect(parseCpuMax(text)).toEqual(value);
  });

  it('flatKey finds one key of a flat-keyed file, whole words only', () => {
    const stat = 'usage_usec 39175\nuser_usec 28477\nsystem_usec 10698\n';
    expect(flatKey(stat, 'usage_usec')).toBe(39175);
    expect(flatKey(stat, 'system_usec')).toBe(10698);
    expect(flatKey(stat, 'usec')).toBeUndefined();
    expect(flatKey(undefined, 'usage_usec')).toBeUndefined();
  });
});

describe('CgroupFs.readResources, children, procs on fake trees', () => {
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(tmp, file)), { recursive: true });
    fs.writeFileSync(path.join(tmp, file), text);
  };

  it('v2: every value from the unified tree, with its file; "max" for no limit; a file that is missing is null', () => {
    const cg = new CgroupFs(2, [{ mountpoint: tmp, version: 2, controllers: [] }]);
    write('barepod/web/app/memory.max', '67108864\n');
    write('barepod/web/app/memory.current', '356352\n');
    write('barepod/web/app/cpu.max', 'max 100000\n');
    write('barepod/web/app/cpu.stat', 'usage_usec 39175\nuser_usec 28477\n');
    write('barepod/web/app/pids.current', '2\n');
    const f = (name: string) => path.join(tmp, 'barepod/web/app', name);
    expect(cg.readResources('/barepod/web/app')).toEqual({
      limits: {
        memoryBytes: { value: 67108864, file: f('memory.max') },
        cpuQuotaUsec: { value: 'max', file: f('cpu.max') },
        cpuPeriodUsec: { value: 100000, file: f('cpu.max') },
        pidsMax: { value: null, file: null },
      },
      usage: {
        memoryBytes: { value: 356352, file: f('memory.current') },
        cpuUsageUsec: { value: 39175, file: f('cpu.stat') },
        pids: { value: 2, file: f('pids.current') },
      },
    });
  });

  it('v1: each controller from its own hierarchy; cpuacct.usage nanoseconds as µs; v1 "no limit" values as max', () => {
    const mounts = [
      { mountpoint: path.join(tmp, 'memory'), version: 1 as const, controllers: ['memory'] },
      { mountpoint: path.join(tmp, 'cpu'), version: 1 as const, controllers: ['cpu'] },
      { mountpoint: path.join(tmp, 'cpuacct'), version: 1 as const, controllers: ['cpuacct'] },
      { mountpoint: path.join(tmp, 'pids'), version: 1 as const, controllers: ['pids'] },
    ];
    const cg = new CgroupFs(1, mounts);
    write('memory/barepod/web/memory.limit_in_bytes', '9223372036854771712\n');
    write('memory/barepod/web/memory.usage_in_bytes', '716800\n');
    write('cpu/barepod/web/cpu.cfs_quota_us', '50000\n');
    write('cpu/barepod/web/cpu.cfs_period_us', '100000\n');
    write('cpuacct/barepod/web/cpuacct.usage', '39175529\n');
    write('pids/barepod/web/pids.max', 'max\n');
    write('pids/barepod/web/pids.current', '3\n');
    const r = cg.readResources('/barepod/web');
    expect(r.limits.memoryBytes).toEqual({ value: 'max', file: path.join(tmp, 'memory/barepod/web/memory.limit_in_bytes') });
    expect(r.limits.cpuQuotaUsec).toEqual({ value: 50000, file: path.join(tmp, 'cpu/barepod/web/cpu.cfs_quota_us') });
    expect(r.limits.cpuPeriodUsec).toEqual({ value: 100000, file: path.join(tmp, 'cpu/barepod/web/cpu.cfs_period_us') });
    expect(r.limits.pidsMax.value).toBe('max');
    expect(r.usage.memoryBytes.value).toBe(716800);
    expect(r.usage.cpuUsageUsec).toEqual({ value: 39175, file: path.join(tmp, 'cpuacct/barepod/web/cpuacct.usage') });
    expect(r.usage.pids.value).toBe(3);
  });

  it('children: the union of every hierarchy, sorted; procs: the pids hierarchy on v1', () => {
    const mounts = [
      { mountpoint: path.join(tmp, 'memory'), version: 1 as const, controllers: ['memory'] },
      { mountpoint: path.join(tmp, 'pids'), version: 1 as const, controllers: ['pids'] },
    ];
    const cg = new CgroupFs(1, mounts);
    write('memory/barepod/web/b/cgroup.procs', '');
    write('memory/barepod/web/_pause/cgroup.procs', '');
    write('pids/barepod/web/a/cgroup.procs', '12717\n12707\n');
    write('memory/barepod/web/a/cgroup.procs', '1\n');
    expect(cg.children('/barepod/web')).toEqual(['_pause', 'a', 'b']);
    expect(cg.procs('/barepod/web/a')).toEqual([12707, 12717]);
    expect(cg.procs('/barepod/web/gone')).toEqual([]);
    expect(cg.exists('/barepod/web')).toBe(true);
    expect(cg.exists('/barepod/other')).toBe(false);
  });
});

describe("CgroupFs.placeProcess and evacuate (the pod's monitor leaf)", () => {
  const procsOf = (...p: string[]) => fs.readFileSync(path.join(tmp, ...p, 'cgroup.procs'), 'utf8');

  it("v1: moves the pid in every hierarchy, the cpuset one given its parents' cpus and mems first", () => {
    const mounts = [
      { mountpoint: path.join(tmp, 'systemd'), version: 1 as const, controllers: ['name=systemd'] },
      { mountpoint: path.join(tmp, 'cpuset'), version: 1 as const, controllers: ['cpuset'] },
      { mountpoint: path.join(tmp, 'pids'), version: 1 as const, controllers: ['pids'] },
      { mountpoint: path.join(tmp, 'unified'), version: 2 as const, controllers: [] },
    ];
    for (const m of mounts) fs.mkdirSync(m.mountpoint);
    fs.writeFileSync(path.join(tmp, 'cpuset', 'cpuset.cpus'), '0-3\n');
    fs.writeFileSync(path.join(tmp, 'cpuset', 'cpuset.mems'), '0\n');
    new CgroupFs(1, mounts).placeProcess('/barepod/_conmon/web', 4242);
    for (const h of ['systemd', 'cpuset', 'pids', 'unified']) expect(procsOf(h, 'barepod/_conmon/web'), h).toBe('4242');
    for (const level of ['barepod', 'barepod/_conmon', 'barepod/_conmon/web']) {
      expect(fs.readFileSync(path.join(tmp, 'cpuset', level, 'cpuset.cpus'), 'utf8'), level).toBe('0-3');
      expect(fs.readFileSync(path.join(tmp, 'cpuset', level, 'cpuset.mems'), 'utf8'), level).toBe('0');
    }
  });

  it('v2: makes the leaf in the unified tree without enabling any controller, and moves the pid there', () => {
    fs.writeFileSync(path.join(tmp, 'cgroup.controllers'), 'memory pids\n');
    const writes = vi.spyOn(fs, 'writeFileSync');
    new CgroupFs(2, [{ mountpoint: tmp, version: 2, controllers: [] }]).placeProcess('/barepod/_conmon/web', 77);
    expect(writes.mock.calls.map(([file, value]) => [rel(String(file)), value])).toEqual([['barepod/_conmon/web/cgroup.procs', '77']]);
  });

  it('v1: a hierarchy where the process already is in the leaf gets no write (each move waits for an RCU grace period)', () => {
    const mounts = [
      { mountpoint: path.join(tmp, 'systemd'), version: 1 as const, controllers: ['name=systemd'] },
      { mountpoint: path.join(tmp, 'cpu,cpuacct'), version: 1 as const, controllers: ['cpu', 'cpuacct'] },
      { mountpoint: path.join(tmp, 'pids'), version: 1 as const, controllers: ['pids'] },
      { mountpoint: path.join(tmp, 'unified'), version: 2 as const, controllers: [] },
    ];
    for (const m of mounts) fs.mkdirSync(m.mountpoint);
    const writes = vi.spyOn(fs, 'writeFileSync');
    // as /proc/<pid>/cgroup lists them: a restart's conmon is born in the leaf its exit handler runs in
    const current = { 'name=systemd': '/barepod/_conmon/web', 'cpuacct,cpu': '/barepod/_conmon/web', pids: '/user.slice', '': '/barepod/_conmon/web' };
    new CgroupFs(1, mounts).placeProcess('/barepod/_conmon/web', 4242, current);
    expect(writes.mock.calls.map(([file, value]) => [rel(String(file)), value])).toEqual([['pids/barepod/_conmon/web/cgroup.procs', '4242']]);
  });

  it('v1 and v2: nothing is written when the process is already in the leaf everywhere', () => {
    const v1 = [
      { mountpoint: path.join(tmp, 'pids'), version: 1 as const, controllers: ['pids'] },
      { mountpoint: path.join(tmp, 'unified'), version: 2 as const, controllers: [] },
    ];
    for (const m of v1) fs.mkdirSync(m.mountpoint);
    fs.writeFileSync(path.join(tmp, 'cgroup.controllers'), 'memory pids\n');
    const writes = vi.spyOn(fs, 'writeFileSync');
    new CgroupFs(1, v1).placeProcess('/barepod/_conmon/web', 7, { pids: '/barepod/_conmon/web', '': '/barepod/_conmon/web' });
    new CgroupFs(2, [{ mountpoint: tmp, version: 2, controllers: [] }]).placeProcess('/barepod/_conmon/web', 7, { '': '/barepod/_conmon/web' });
    expect(writes).not.toHaveBeenCalled();
    // elsewhere (or unknown: the process's file unreadable) it is moved
    new CgroupFs(2, [{ mountpoint: tmp, version: 2, controllers: [] }]).placeProcess('/barepod/_conmon/web', 7, { '': '/barepod/_conmon' });
    new CgroupFs(2, [{ mountpoint: tmp, version: 2, controllers: [] }]).placeProcess('/barepod/_conmon/web', 7, {});
    expect(writes.mock.calls.map(([file, value]) => [rel(String(file)), value])).toEqual([
      ['barepod/_conmon/web/cgroup.procs', '7'],
      ['barepod/_conmon/web/cgroup.procs', '7'],
    ]);
  });

  it('warmMoves writes this process to its own cgroup (a controller-less hierarchy), again and again until stopped; an error ends it', async () => {
    const mounts = [
      { mountpoint: path.join(tmp, 'pids'), version: 1 as const, controllers: ['pids'] },
      { mountpoint: path.join(tmp, 'unified'), version: 2 as const, controllers: [] },
    ];
    fs.mkdirSync(path.join(tmp, 'unified', 'user.slice', 's'), { recursive: true });
    const writes = vi.spyOn(fs, 'writeFile');
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const stop = new CgroupFs(1, mounts).warmMoves(1, () => ({ pids: '/elsewhere', '': '/user.slice/s' }));
    // no wall-time assumption: until it has written three times (or 5 s)
    for (let i = 0; i < 500 && writes.mock.calls.length < 3; i++) await sleep(10);
    stop();
    const n = writes.mock.calls.length;
    expect(n).toBeGreaterThan(2);
    expect(writes.mock.calls.every(([file]) => rel(String(file)) === 'unified/user.slice/s/cgroup.procs')).toBe(true);
    // the last write may still be under way (its file truncated, not yet written): read once it has landed
    const procs = path.join(tmp, 'unified/user.slice/s/cgroup.procs');
    for (let i = 0; i < 500 && fs.readFileSync(procs, 'utf8') !== String(process.pid); i++) await sleep(10);
    expect(fs.readFileSync(procs, 'utf8')).toBe(String(process.pid));
    await sleep(20);
    expect(writes.mock.calls.length).toBe(n);
    // v1 alone: the named hierarchy, not a controller's
    writes.mockClear();
    const v1 = [
      { mountpoint: path.join(tmp, 'cpuset'), version: 1 as const, controllers: ['cpuset'] },
      { mountpoint: path.join(tmp, 'systemd'), version: 1 as const, controllers: ['name=systemd'] },
    ];
    new CgroupFs(1, v1).warmMoves(1, () => ({ cpuset: '/', 'name=systemd': '/gone' }))();
    expect(writes.mock.calls.map(([file]) => rel(String(file)))).toEqual(['systemd/gone/cgroup.procs']);
    // a cgroup it cannot write (here: not there): one try, then nothing
    writes.mockClear();
    const stop2 = new CgroupFs(1, mounts).warmMoves(1, () => ({ '': '/gone' }));
    await sleep(30);
    stop2();
    expect(writes.mock.calls.length).toBe(1);
    // no line for the hierarchy: nothing written at all
    writes.mockClear();
    new CgroupFs(2, [mounts[1]!]).warmMoves(1, () => ({ pids: '/user.slice/s' }))();
    expect(writes).not.toHaveBeenCalled();
  });

  it('evacuate moves what is left in the leaf to the root of each hierarchy', async () => {
    fs.mkdirSync(path.join(tmp, 'barepod/_conmon/web'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'barepod/_conmon/web/cgroup.procs'), '11\n12\n');
    const cg = new CgroupFs(2, [{ mountpoint: tmp, version: 2, controllers: [] }]);
    const writes = vi.spyOn(fs, 'writeFileSync');
    expect(await cg.evacuate('/barepod/_conmon/web', 0)).toEqual([11, 12]);
    expect(writes.mock.calls.map(([file, value]) => [rel(String(file)), value])).toEqual([
      ['cgroup.procs', '11'],
      ['cgroup.procs', '12'],
    ]);
  });
});

describe('CgroupFs.removeTree and the monitors of a pod', () => {
  it("a pod's removal takes its monitor leaf, then barepod/_conmon and barepod when they are empty", async () => {
    for (const d of ['barepod/web/app', 'barepod/_conmon/web']) fs.mkdirSync(path.join(tmp, d), { recursive: true });
    const cg = new CgroupFs(2, [{ mountpoint: tmp, version: 2, controllers: [] }]);
    expect(await cg.removeTree('/barepod/web', '/barepod')).toEqual([]);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it("keeps other pods' monitors, and a container's removal leaves the pod's monitors alone", async () => {
    for (const d of ['barepod/web/app', 'barepod/db/app', 'barepod/_conmon/web', 'barepod/_conmon/db']) fs.mkdirSync(path.join(tmp, d), { recursive: true });
    const cg = new CgroupFs(2, [{ mountpoint: tmp, version: 2, controllers: [] }]);
    expect(await cg.removeTree('/barepod/web/app')).toEqual([]);
    expect(fs.existsSync(path.join(tmp, 'barepod/_conmon/web'))).toBe(true);
    expect(await cg.removeTree('/barepod/web', '/barepod')).toEqual([]);
    expect(fs.readdirSync(path.join(tmp, 'barepod')).sort()).toEqual(['_conmon', 'db']);
    expect(fs.readdirSync(path.join(tmp, 'barepod/_conmon'))).toEqual(['db']);
  });
});
