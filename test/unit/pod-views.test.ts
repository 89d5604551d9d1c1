import { describe, expect, it } from 'vitest';
import {
  cpuMillicores,
  cpuPercent,
  effectiveLimit,
  namespaceMatrix,
  namespaceRelation,
  orderCgroupChildren,
  statsReport,
  type CgroupResources,
  type StatsSample,
} from '../../src/plan/pod-views.js';

const HOST = { net: 1, ipc: 2, uts: 3, pid: 4, mnt: 5, cgroup: 6, user: 7 };

describe('namespaceRelation', () => {
  it.each<[string, number, number | undefined, number | undefined, boolean, string]>([
    ['a container in the pause namespace', 10, 10, 1, false, 'shared'],
    ['a container in its own', 11, 10, 1, false, 'own'],
    ['a container in the host one', 1, 10, 1, false, 'host'],
    ['the host wins over the pause (a host-network pod)', 1, 1, 1, false, 'host'],
    ['the pause is the reference: own', 10, 10, 1, true, 'own'],
    ['the pause in the host namespace', 1, 1, 1, true, 'host'],
    ['no pause to compare with (it is not running)', 10, undefined, 1, false, 'own'],
    ['no host inode to compare with', 10, 10, undefined, false, 'shared'],
  ])('%s', (_what, inode, pause, host, isPause, relation) => {
    expect(namespaceRelation(inode, pause, host, isPause)).toBe(relation);
  });
});

describe('namespaceMatrix', () => {
  it('the pause first, then each container; a stopped one has no cells; types the member lacks are left out', () => {
    const pause = { name: '_pause', pid: 100, inodes: { net: 20, ipc: 21, uts: 22, pid: 23, mnt: 24, cgroup: 6, user: 7 } };
    const app = { name: 'app', pid: 200, inodes: { net: 20, ipc: 21, uts: 22, pid: 23, mnt: 30, cgroup: 6, user: 7 } };
    const tool = { name: 'tool', pid: 300, inodes: { net: 20, ipc: 21, uts: 22, pid: 31, mnt: 32, user: 7 } };
    const done = { name: 'done', pid: null, inodes: {} };
    const rows = namespaceMatrix(pause, [app, tool, done], ['net', 'pid', 'mnt', 'cgroup', 'user'], HOST);
    expect(rows.map((r) => [r.name, r.pid, Object.fromEntries(Object.entries(r.namespaces).map(([t, v]) => [t, `${v.inode} ${v.relation}`]))])).toEqual([
      ['_pause', 100, { net: '20 own', pid: '23 own', mnt: '24 own', cgroup: '6 host', user: '7 host' }],
      ['app', 200, { net: '20 shared', pid: '23 shared', mnt: '30 own', cgroup: '6 host', user: '7 host' }],
      ['tool', 300, { net: '20 shared', pid: '31 own', mnt: '32 own', user: '7 host' }],
      ['done', null, {}],
    ]);
  });

  it('a host-network pod: net is the host one for every member, uts still the pod one', () => {
    const pause = { name: '_pause', pid: 100, inodes: { net: 1, uts: 22 } };
    const app = { name: 'app', pid: 200, inodes: { net: 1, uts: 22 } };
    const rows = namespaceMatrix(pause, [app], ['net', 'uts'], HOST);
    expect(rows[1]!.namespaces).toEqual({ net: { inode: 1, relation: 'host' }, uts: { inode: 22, relation: 'shared' } });
    expect(rows[0]!.namespaces.net!.relation).toBe('host');
  });
});

describe('cpuMillicores', () => {
  it.each<[number | 'max' | null, number | null, number | null]>([
    [50000, 100000, 500],
    [100000, 100000, 1000],
    [250000, 100000, 2500],
    [1000, 100000, 10],
    ['max', 100000, null],
    [null, 100000, null],
    [50000, null, null],
    [50000, 0, null],
  ])('%j / %j → %j', (quota, period, milli) => {
    expect(cpuMillicores(quota, period)).toBe(milli);
  });
});

describe('orderCgroupChildren', () => {
  it('sandbox first, then the containers in record order, then any other leaf by name', () => {
    expect(orderCgroupChildren(['conmon', 'b', '_pause', 'a', 'aaa'], ['b', 'a'])).toEqual(['_pause', 'b', 'a', 'aaa', 'conmon']);
    expect(orderCgroupChildren([], ['a'])).toEqual([]);
  });
});

describe('cpuPercent', () => {
  it('the CPU time used over the wall time between the samples: 100 % is one CPU', () => {
    expect(cpuPercent({ usageUsec: 1_000_000, atUsec: 0 }, { usageUsec: 1_500_000, atUsec: 500_000 })).toBe(100);
    expect(cpuPercent({ usageUsec: 0, atUsec: 0 }, { usageUsec: 250_000, atUsec: 1_000_000 })).toBe(25);
    expect(cpuPercent({ usageUsec: 0, atUsec: 0 }, { usageUsec: 1_500_000, atUsec: 1_000_000 })).toBe(150); // two CPUs, one and a half busy
    expect(cpuPercent({ usageUsec: 7, atUsec: 0 }, { usageUsec: 7, atUsec: 1 })).toBe(0);
  });

  it('null without a previous sample, a missing reading, no time passed, or usage that went down (a recreated cgroup)', () => {
    expect(cpuPercent(undefined, { usageUsec: 5, atUsec: 10 })).toBeNull();
    expect(cpuPercent({ usageUsec: null, atUsec: 0 }, { usageUsec: 5, atUsec: 10 })).toBeNull();
    expect(cpuPercent({ usageUsec: 1, atUsec: 0 }, { usageUsec: null, atUsec: 10 })).toBeNull();
    expect(cpuPercent({ usageUsec: 1, atUsec: 10 }, { usageUsec: 5, atUsec: 10 })).toBeNull();
    expect(cpuPercent({ usageUsec: 9, atUsec: 0 }, { usageUsec: 5, atUsec: 10 })).toBeNull();
  });
});

describe('effectiveLimit', () => {
  it.each<[number | 'max' | null, number | 'max' | null, number | null, { limit: number | 'max' | null; from: string | null }]>([
    [64, 128, 1000, { limit: 64, from: 'container' }],
    ['max', 128, 1000, { limit: 128, from: 'pod' }],
    ['max', 'max', 1000, { limit: 1000, from: 'host' }],
    ['max', 'max', null, { limit: 'max', from: null }],
    [null, null, null, { limit: null, from: null }],
    [null, 128, null, { limit: 128, from: 'pod' }],
  ])('own %j, pod %j, fallback %j', (own, pod, fallback, want) => {
    expect(effectiveLimit(own, pod, fallback)).toEqual(want);
  });

  it('the pod parent names its own limit "pod"', () => {
    expect(effectiveLimit(128, null, 1000, 'pod')).toEqual({ limit: 128, from: 'pod' });
  });
});

/** A cgroup's readings with only the values that matter here; every file named after the value. */
function resources(o: { mem?: number | 'max'; memUsage?: number; cpu?: number | null; pids?: number | 'max'; pidsNow?: number }): CgroupResources {
  const r = <T>(value: T | undefined) => ({ value: value ?? null, file: value === undefined ? null : '/f' });
  return {
    limits: { memoryBytes: r(o.mem), cpuQuotaUsec: r<number | 'max'>('max'), cpuPeriodUsec: r(100000), pidsMax: r(o.pids) },
    usage: { memoryBytes: r(o.memUsage), cpuUsageUsec: r(o.cpu ?? undefined), pids: r(o.pidsNow) },
  };
}

describe('statsReport', () => {
  const sample = (at: number, appCpu: number | null, podCpu: number): StatsSample => ({
    atUsec: at,
    members: [
      {
        name: '_pause',
        state: 'running',
        cgroup: '/barepod/web/_pause',
        resources: resources({ mem: 'max', memUsage: 100, cpu: 10, pids: 'max', pidsNow: 1 }),
      },
      { name: 'app', state: 'running', cgroup: '/barepod/web/app', resources: resources({ mem: 64, memUsage: 16, cpu: appCpu, pids: 16, pidsNow: 2 }) },
    ],
    pod: { name: 'web', state: 'Running', cgroup: '/barepod/web', resources: resources({ mem: 128, memUsage: 116, cpu: podCpu, pids: 'max', pidsNow: 3 }) },
  });

  it('cpu % from the two samples, memory against the bounding limit, pids against theirs, the pod total last', () => {
    const r = statsReport('web', 'T', sample(0, 0, 10), sample(500_000, 250_000, 250_010), 4096);
    expect(r.pod).toBe('web');
    expect(r.time).toBe('T');
    expect(r.windowMs).toBe(500);
    expect(
      r.members.map((m) => [m.name, m.cpu.percent, m.memory.limitBytes, m.memory.limitFrom, m.memory.percent, m.pids.current, m.pids.limit, m.pids.limitFrom]),
    ).toEqual([
      ['_pause', 0, 128, 'pod', (100 / 128) * 100, 1, 'max', null],
      ['app', 50, 64, 'container', 25, 2, 16, 'container'],
    ]);
    expect(r.total).toMatchObject({
      name: 'web',
      state: 'Running',
      cgroup: '/barepod/web',
      cpu: { percent: 50, usageUsec: 250_010 },
      memory: { usageBytes: 116, limitBytes: 128, limitFrom: 'pod' },
      pids: { current: 3, limit: 'max', limitFrom: null },
    });
  });

  it('without a previous sample, or a member new since, cpu % is null; a missing reading stays null', () => {
    const first = statsReport('web', 'T', undefined, sample(0, 0, 10), 4096);
    expect(first.windowMs).toBe(0);
    expect(first.members.map((m) => m.cpu.percent)).toEqual([null, null]);
    const prev = sample(0, 0, 10);
    prev.members = prev.members.filter((m) => m.name !== 'app');
    const r = statsReport('web', 'T', prev, sample(1_000_000, null, 10), 4096);
    expect(r.members.find((m) => m.name === 'app')!.cpu).toEqual({ percent: null, usageUsec: null });
  });

  it('a pod without a memory limit: members and total are measured against the host RAM', () => {
    const s = sample(0, 0, 0);
    s.pod.resources = resources({ mem: 'max', memUsage: 1024 });
    const r = statsReport('web', 'T', undefined, s, 4096);
    expect(r.total.memory).toEqual({ usageBytes: 1024, limitBytes: 4096, limitFrom: 'host', percent: 25 });
    expect(r.members[0]!.memory.limitFrom).toBe('host');
  });
});
