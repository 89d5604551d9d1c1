import { describe, expect, it } from 'vitest';
import { cgroupTreeLines, namespaceLines, resourceSummary, statsStreamLines, statsTableLines, topLines } from '../../src/cli/view-text.js';
import type { CgroupNode, StatsReport, StatsRow } from '../../src/plan/pod-views.js';
import type { CgroupTreeView, NamespaceView } from '../../src/pod/observe.js';

const Mi = 1024 * 1024;

const NS: NamespaceView = {
  pod: 'web',
  pausePid: 100,
  types: ['net', 'pid', 'user'],
  host: { net: 1, pid: 4, user: 7 },
  members: [
    {
      name: '_pause',
      pid: 100,
      state: 'running',
      namespaces: { net: { inode: 20, relation: 'own' }, pid: { inode: 23, relation: 'own' }, user: { inode: 7, relation: 'host' } },
    },
    {
      name: 'app',
      pid: 200,
      state: 'running',
      namespaces: { net: { inode: 20, relation: 'shared' }, pid: { inode: 31, relation: 'own' }, user: { inode: 7, relation: 'host' } },
    },
    { name: 'done', pid: null, state: 'exited', namespaces: {} },
  ],
};

describe('namespaceLines', () => {
  it('plain: "inode relation" cells, the sandbox as in ps, "-" for a member not running, the pause pid and a legend', () => {
    const lines = namespaceLines(NS, false);
    expect(lines.slice(0, 5)).toEqual([
      'Pod web: pause pid 100',
      'MEMBER      PID   net         pid      user',
      '(sandbox)   100   20 own      23 own   7 host',
      'app         200   20 shared   31 own   7 host',
      'done        -     -           -        -',
    ]);
    expect(lines.join('\n')).toMatch(/^shared: the pause's namespace/m);
    expect(lines.join('\n')).toMatch(/^host: the host's/m);
    expect(lines.join('\n')).not.toContain('\x1b');
  });

  it('on a terminal: each relation in its colour, padding outside the colour so columns stay aligned', () => {
    const lines = namespaceLines(NS, true);
    expect(lines[3]).toBe('app         200   \x1b[32m20 shared\x1b[0m   \x1b[33m31 own\x1b[0m   \x1b[35m7 host\x1b[0m');
    // without the colour codes, the same table as the plain one
    expect(lines.map((l) => l.replace(/\x1b\[\d+m/g, ''))).toEqual(namespaceLines(NS, false));
  });

  it('says so when the pause is not running', () => {
    expect(namespaceLines({ ...NS, pausePid: null }, false)[0]).toBe('Pod web: the pause is not running');
  });
});

const reading = <T>(value: T | null) => ({ value, file: value === null ? null : '/f' });

function node(
  name: string,
  role: CgroupNode['role'],
  o: {
    mem?: number | 'max';
    usage?: number;
    milli?: number | null;
    pids?: number | 'max';
    procs?: { pid: number; command: string[] }[];
    children?: CgroupNode[];
    state?: string;
  },
): CgroupNode {
  return {
    name,
    path: name,
    role,
    state: o.state ?? (role === 'pod' || role === 'other' ? null : 'running'),
    limits: {
      memoryBytes: reading(o.mem ?? 'max'),
      cpuQuotaUsec: reading<number | 'max'>(o.milli ? o.milli * 100 : 'max'),
      cpuPeriodUsec: reading(100000),
      cpuMillicores: o.milli ?? null,
      pidsMax: reading(o.pids ?? 'max'),
    },
    usage: { memoryBytes: reading(o.usage ?? 716800), cpuUsageUsec: reading(120000), pids: reading(o.procs?.length ?? 0) },
    processes: o.procs ?? [],
    children: o.children ?? [],
  };
}

describe('cgroups text', () => {
  it('resourceSummary: usage / limit for memory, cpu seconds / millicores, pids; "max" unlimited, "-" unknown', () => {
    expect(resourceSummary(node('x', 'pod', { mem: 128 * Mi, milli: 500, pids: 200 }))).toBe('memory 700Ki / 128Mi   cpu 0.12s / 500m   pids 0 / 200');
    expect(resourceSummary(node('x', 'pod', {}))).toBe('memory 700Ki / max   cpu 0.12s / max   pids 0 / max');
    const unknown = node('x', 'pod', {});
    unknown.limits.memoryBytes = reading(null);
    unknown.limits.cpuQuotaUsec = reading(null);
    unknown.usage.pids = reading(null);
    expect(resourceSummary(unknown)).toBe('memory 700Ki / -   cpu 0.12s / -   pids - / max');
  });

  it('a tree like systemd-cgls: each cgroup, its processes, its children', () => {
    const view: CgroupTreeView = {
      pod: 'web',
      cgroupVersion: 1,
      hierarchies: { memory: '/sys/fs/cgroup/memory', pids: '/sys/fs/cgroup/pids' },
      tree: node('/barepod/web', 'pod', {
        mem: 128 * Mi,
        children: [
          node('_pause', 'sandbox', { procs: [{ pid: 100, command: ['/pause'] }] }),
          node('app', 'container', {
            mem: 64 * Mi,
            pids: 16,
            procs: [
              { pid: 200, command: ['sh', '-c', 'sleep 1000 & sleep 1000'] },
              { pid: 210, command: ['sleep', '1000'] },
            ],
          }),
          node('done', 'container', { state: 'exited' }),
          node('conmon', 'other', {}),
        ],
      }),
    };
    expect(cgroupTreeLines(view)).toEqual([
      'Pod web: cgroup v1 (memory /sys/fs/cgroup/memory, pids /sys/fs/cgroup/pids)',
      'usage / limit: memory bytes, cpu seconds used / limit in millicores, tasks',
      '/barepod/web   memory 700Ki / 128Mi   cpu 0.12s / max   pids 0 / max',
      '├─_pause (sandbox)   memory 700Ki / max   cpu 0.12s / max   pids 1 / max',
      '│ └─100 /pause',
      '├─app   memory 700Ki / 64Mi   cpu 0.12s / max   pids 2 / 16',
      '│ ├─200 sh -c sleep 1000 & sleep 1000',
      '│ └─210 sleep 1000',
      '├─done [exited]   memory 700Ki / max   cpu 0.12s / max   pids 0 / max',
      '└─conmon (not a member)   memory 700Ki / max   cpu 0.12s / max   pids 0 / max',
    ]);
  });
});

describe('topLines', () => {
  it('a row per process: container, host pid, pod pid, ppid, uid, state, RSS, command', () => {
    expect(
      topLines([
        { container: '_pause', pid: 100, podPid: 1, ppid: 90, podPpid: 0, uid: 0, state: 'S', rssBytes: 696 * 1024, command: ['/pause'] },
        { container: 'app', pid: 210, podPid: 11, ppid: 200, podPpid: 6, uid: 1000, state: 'R', rssBytes: 3354624, command: ['sleep', '1000'] },
      ]),
    ).toEqual([
      'CONTAINER   PID   POD PID   PPID   UID    STATE   RSS     COMMAND',
      '(sandbox)   100   1         90     0      S       696Ki   /pause',
      'app         210   11        200    1000   R       3.2Mi   sleep 1000',
    ]);
  });
});

const row = (name: string, state: string, o: Partial<StatsRow> = {}): StatsRow => ({
  name,
  state,
  cgroup: `/barepod/web/${name}`,
  cpu: { percent: 12.345, usageUsec: 1 },
  memory: { usageBytes: 16 * Mi, limitBytes: 64 * Mi, limitFrom: 'container', percent: 25 },
  pids: { current: 2, limit: 16, limitFrom: 'container' },
  ...o,
});

const REPORT: StatsReport = {
  pod: 'web',
  time: '2026-01-02T15:04:05.000Z',
  windowMs: 500,
  members: [
    row('_pause', 'running', {
      memory: { usageBytes: 300 * 1024, limitBytes: 128 * Mi, limitFrom: 'pod', percent: 0.23 },
      pids: { current: 1, limit: 'max', limitFrom: null },
    }),
    row('app', 'running'),
    row('done', 'exited', {
      cpu: { percent: null, usageUsec: null },
      memory: { usageBytes: null, limitBytes: 128 * Mi, limitFrom: 'pod', percent: null },
      pids: { current: null, limit: 'max', limitFrom: null },
    }),
  ],
  total: row('web', 'Running', { memory: { usageBytes: 17 * Mi, limitBytes: 128 * Mi, limitFrom: 'pod', percent: 13.28125 } }),
};

describe('stats text', () => {
  it('a table: cpu %, memory usage / limit (where the limit comes from), memory %, pids; the pod total last', () => {
    expect(statsTableLines(REPORT)).toEqual([
      'NAME              CPU %    MEM USAGE / LIMIT     MEM %    PIDS',
      '(sandbox)         12.35%   300Ki / 128Mi (pod)   0.23%    1 / max',
      'app               12.35%   16Mi / 64Mi           25.00%   2 / 16',
      'done [exited]     -        - / 128Mi (pod)       -        - / max',
      'web (pod total)   12.35%   17Mi / 128Mi          13.28%   2 / 16',
    ]);
  });

  it('a stream: one key=value line per member per sample, with its time', () => {
    expect(statsStreamLines(REPORT)).toEqual([
      '2026-01-02T15:04:05.000Z web/(sandbox) state=running cpu=12.35% mem=300Ki mem_limit=128Mi(pod) mem%=0.23% pids=1 pids_limit=max',
      '2026-01-02T15:04:05.000Z web/app state=running cpu=12.35% mem=16Mi mem_limit=64Mi(container) mem%=25.00% pids=2 pids_limit=16',
      '2026-01-02T15:04:05.000Z web/done state=exited cpu=- mem=- mem_limit=128Mi(pod) mem%=- pids=- pids_limit=max',
      '2026-01-02T15:04:05.000Z web/(pod) state=Running cpu=12.35% mem=17Mi mem_limit=128Mi(pod) mem%=13.28% pids=2 pids_limit=16',
    ]);
  });
});
