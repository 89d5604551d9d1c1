/**
 * The views that show a pod from the host's side, on real runc and conmon:
 * `ns` against /proc/<pid>/ns, `cgroups` and `stats` against the cgroup
 * files, `top` against /proc/<pid>/status; and `stats --watch` ending on
 * Ctrl-C and on the pod's removal. cgroup v2 is checked in a private mount
 * namespace with cgroup2 at /sys/fs/cgroup.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { background, CLI, eventually, inspect, nsInode, pidOf, run, skipReason, type TestEnv, useTestEnv } from '../helpers/harness.js';

const isV2 = (() => {
  try {
    return fs.statfsSync('/sys/fs/cgroup').type === 0x63677270;
  } catch {
    return false;
  }
})();

const Mi = 1024 * 1024;
type Relation = 'shared' | 'own' | 'host';

interface NsView {
  pod: string;
  pausePid: number | null;
  types: string[];
  host: Record<string, number>;
  members: { name: string; pid: number | null; state: string; namespaces: Record<string, { inode: number; relation: Relation }> }[];
}

async function nsView(t: TestEnv, pod: string): Promise<NsView> {
  return JSON.parse(await t.ok(['ns', pod, '--json'])) as NsView;
}

/** Every inode of the view is the one /proc/<pid>/ns/<type> has for that member, every type is there, the host's are barepod's. */
function expectInodesMatchProc(v: NsView): void {
  const types = ['net', 'ipc', 'uts', 'pid', 'mnt', 'cgroup', 'user', ...(fs.existsSync('/proc/self/ns/time') ? ['time'] : [])];
  expect(v.types).toEqual(types);
  for (const t of types) expect(v.host[t], `host ${t}`).toBe(nsInode(process.pid, t));
  for (const m of v.members) {
    if (m.pid === null) {
      expect(m.namespaces, m.name).toEqual({});
      continue;
    }
    expect(Object.keys(m.namespaces), m.name).toEqual(types);
    for (const t of types) expect(m.namespaces[t]!.inode, `${m.name} ${t}`).toBe(fs.statSync(`/proc/${m.pid}/ns/${t}`).ino);
  }
}

/** member → "type:relation" for the given types. */
const relations = (v: NsView, types: string[]) =>
  Object.fromEntries(v.members.map((m) => [m.name, types.map((t) => `${t}:${m.namespaces[t]?.relation ?? '-'}`).join(' ')]));

/** What a cgroup file says, parsed as the view should have it. */
function fileValue(file: string): number | 'max' {
  const text = fs.readFileSync(file, 'utf8').trim();
  if (/^usage_usec /m.test(text)) return Number(/^usage_usec (\d+)$/m.exec(text)![1]);
  const [first] = text.split(/\s+/);
  if (first === 'max' || first === '-1' || Number(first) >= 2 ** 62) return 'max';
  return Number(first);
}

/** The directory of a cgroup path in a controller's hierarchy, as the host mounts it (v1: /sys/fs/cgroup/<controller>). */
const cgroupDir = (controller: string, cgroupPath: string) =>
  fs.realpathSync(isV2 ? `/sys/fs/cgroup${cgroupPath}` : `/sys/fs/cgroup/${controller}${cgroupPath}`);

interface Reading {
  value: number | 'max' | null;
  file: string | null;
}
interface CgNode {
  name: string;
  path: string;
  role: string;
  state: string | null;
  limits: { memoryBytes: Reading; cpuQuotaUsec: Reading; cpuPeriodUsec: Reading; cpuMillicores: number | null; pidsMax: Reading };
  usage: { memoryBytes: Reading; cpuUsageUsec: Reading; pids: Reading };
  processes: { pid: number; command: string[] }[];
  children: CgNode[];
}
interface CgView {
  pod: string;
  cgroupVersion: number;
  tree: CgNode;
}

interface TopProcess {
  container: string;
  pid: number;
  podPid: number;
  ppid: number;
  podPpid: number;
  uid: number;
  state: string;
  rssBytes: number;
  command: string[];
}

interface StatsRow {
  name: string;
  state: string;
  cgroup: string;
  cpu: { percent: number | null; usageUsec: number | null };
  memory: { usageBytes: number | null; limitBytes: number | 'max' | null; limitFrom: string | null; percent: number | null };
  pids: { current: number | null; limit: number | 'max' | null; limitFrom: string | null };
}
interface StatsReport {
  pod: string;
  time: string;
  windowMs: number;
  members: StatsRow[];
  total: StatsRow;
}

/** The last field of NSpid in /proc/<pid>/status, read by the test itself. */
const nspidOf = (pid: number) =>
  Number(
    /^NSpid:\s*(.+)$/m
      .exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!
      .trim()
      .split(/\s+/)
      .pop(),
  );

describe.skipIf(skipReason)('ns', () => {
  const t = useTestEnv();

  it('a pod sharing pid: net, ipc, uts, pid shared; mnt own; a --pid private container has its own pid namespace; an exited one shows nothing', async () => {
    const pod = t.pod('nspid');
    await t.ok(['pod', 'create', pod, '--share', 'net,ipc,uts,pid', '--network', 'none']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    await t.ok(['run', '--pod', pod, '--name', 'tool', '--pid', 'private', '--', 'sleep', '3600']);
    await t.ok(['run', '--pod', pod, '--name', 'once', '--', 'true']);
    await eventually(async () => (await inspect(t, pod)).containers.find((c) => c.name === 'once')?.state === 'exited', 15_000, 'once to exit');
    const v = await nsView(t, pod);
    expect(v.pod).toBe(pod);
    expect(v.pausePid).toBe((await inspect(t, pod)).sandbox.pid);
    expect(v.members.map((m) => [m.name, m.state])).toEqual([
      ['_pause', 'running'],
      ['app', 'running'],
      ['tool', 'running'],
      ['once', 'exited'],
    ]);
    expect(v.members[1]!.pid).toBe(await pidOf(t, pod, 'app'));
    expectInodesMatchProc(v);
    // cgroup: the pod's own namespace on v2 (runc makes one), the host's on v1
    const cg = isV2 ? 'own' : 'host';
    expect(relations(v, ['net', 'ipc', 'uts', 'pid', 'mnt', 'cgroup', 'user'])).toEqual({
      _pause: `net:own ipc:own uts:own pid:own mnt:own cgroup:${cg} user:host`,
      app: `net:shared ipc:shared uts:shared pid:shared mnt:own cgroup:${cg} user:host`,
      tool: `net:shared ipc:shared uts:shared pid:own mnt:own cgroup:${cg} user:host`,
      once: 'net:- ipc:- uts:- pid:- mnt:- cgroup:- user:-',
    });
    // the pause's pid namespace is the one the app joined; every mount namespace is a different one
    expect(v.members[1]!.namespaces.pid!.inode).toBe(v.members[0]!.namespaces.pid!.inode);
    expect(new Set(v.members.slice(0, 3).map((m) => m.namespaces.mnt!.inode)).size).toBe(3);
    // the text: one row per member, the pause pid, the legend
    const text = await t.ok(['ns', pod]);
    expect(text).toContain(`Pod ${pod}: pause pid ${v.pausePid}`);
    expect(text).toMatch(new RegExp(`^app\\s+${v.members[1]!.pid}\\s+${v.members[1]!.namespaces.net!.inode} shared\\s`, 'm'));
    expect(text).toMatch(/^once\s+-\s+-/m);
    expect(text).toMatch(/^shared: /m);
    expect(text).not.toContain('\x1b['); // not a terminal: no colour
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('a pod without pid sharing: every container in its own pid namespace', async () => {
    const pod = t.pod('nsnopid');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    const v = await nsView(t, pod);
    expectInodesMatchProc(v);
    expect(relations(v, ['net', 'ipc', 'uts', 'pid', 'mnt'])).toEqual({
      _pause: 'net:own ipc:own uts:own pid:own mnt:own',
      app: 'net:shared ipc:shared uts:shared pid:own mnt:own',
    });
    expect(v.members[1]!.namespaces.pid!.inode).not.toBe(v.members[0]!.namespaces.pid!.inode);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('a host-network pod: net is the host one for the pause and its containers; ipc and uts still the pod ones', async () => {
    const pod = t.pod('nshost');
    await t.ok(['pod', 'create', pod, '--network', 'host']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    const v = await nsView(t, pod);
    expectInodesMatchProc(v);
    expect(relations(v, ['net', 'ipc', 'uts', 'mnt'])).toEqual({
      _pause: 'net:host ipc:own uts:own mnt:own',
      app: 'net:host ipc:shared uts:shared mnt:own',
    });
    expect(v.members[1]!.namespaces.net!.inode).toBe(nsInode(process.pid, 'net'));
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('a pod that does not exist: not found (exit 3)', async () => {
    for (const cmd of ['ns', 'cgroups', 'top', 'stats']) {
      const r = await t.bp([cmd, `${t.prefix}-nope`]);
      expect(r.code, cmd).toBe(3);
      expect(r.stderr, cmd).toMatch(/pod "[^"]+-nope" not found/);
    }
  });
});

describe.skipIf(skipReason)('cgroups', () => {
  const t = useTestEnv();

  it('the pod parent and a child per member, the limits that were set and the usage, each equal to its file; the processes of each leaf', async () => {
    const pod = t.pod('cgv');
    await t.ok(['pod', 'create', pod, '--network', 'none', '--memory', '128Mi', '--pids-limit', '200', '--cpus', '1']);
    await t.ok(['run', '--pod', pod, '--name', 'small', '--memory', '64Mi', '--pids-limit', '16', '--cpus', '500m', '--', 'sleep', '3600']);
    await t.ok(['run', '--pod', pod, '--name', 'free', '--', 'sleep', '3600']);
    const v = JSON.parse(await t.ok(['cgroups', pod, '--json'])) as CgView;
    expect(v.pod).toBe(pod);
    expect(v.cgroupVersion).toBe(isV2 ? 2 : 1);
    const root = v.tree;
    expect([root.name, root.path, root.role]).toEqual([`/${t.cgroupRoot}/${pod}`, `/${t.cgroupRoot}/${pod}`, 'pod']);
    expect(root.children.map((c) => [c.name, c.path, c.role, c.state])).toEqual([
      ['_pause', `/${t.cgroupRoot}/${pod}/_pause`, 'sandbox', 'running'],
      ['small', `/${t.cgroupRoot}/${pod}/small`, 'container', 'running'],
      ['free', `/${t.cgroupRoot}/${pod}/free`, 'container', 'running'],
    ]);
    const [pause, small, free] = root.children as [CgNode, CgNode, CgNode];

    // the limits that were set
    expect(root.limits.memoryBytes.value).toBe(128 * Mi);
    expect(root.limits.pidsMax.value).toBe(200);
    expect(root.limits.cpuMillicores).toBe(1000);
    expect(small.limits.memoryBytes.value).toBe(64 * Mi);
    expect(small.limits.pidsMax.value).toBe(16);
    expect(small.limits.cpuMillicores).toBe(500);
    expect(free.limits.memoryBytes.value).toBe('max');
    expect(free.limits.pidsMax.value).toBe('max');
    expect(free.limits.cpuMillicores).toBeNull();
    expect(free.limits.cpuQuotaUsec.value).toBe('max');

    // each value is what its file says, and the file is in the hierarchy of its controller
    const files = isV2
      ? {
          memoryBytes: ['memory', 'memory.max'],
          pidsMax: ['pids', 'pids.max'],
          cpuQuotaUsec: ['cpu', 'cpu.max'],
          memUsage: ['memory', 'memory.current'],
          cpuUsage: ['cpu', 'cpu.stat'],
        }
      : {
          memoryBytes: ['memory', 'memory.limit_in_bytes'],
          pidsMax: ['pids', 'pids.max'],
          cpuQuotaUsec: ['cpu', 'cpu.cfs_quota_us'],
          memUsage: ['memory', 'memory.usage_in_bytes'],
          cpuUsage: ['cpuacct', 'cpuacct.usage'],
        };
    for (const n of [root, pause, small, free]) {
      for (const key of ['memoryBytes', 'pidsMax', 'cpuQuotaUsec'] as const) {
        const [controller, file] = files[key];
        expect(n.limits[key].file, `${n.name} ${key}`).toBe(path.join(cgroupDir(controller!, n.path), file!));
        expect(n.limits[key].value, `${n.name} ${key}`).toBe(fileValue(n.limits[key].file!));
      }
      // pids.current is exact for idle containers; memory moves a little: within 1 MiB of the file read just after
      expect(n.usage.pids.file).toBe(path.join(cgroupDir('pids', n.path), 'pids.current'));
      expect(n.usage.pids.value, `${n.name} pids`).toBe(fileValue(n.usage.pids.file!));
      expect(n.usage.memoryBytes.file).toBe(path.join(cgroupDir(files.memUsage[0]!, n.path), files.memUsage[1]!));
      expect(Math.abs((n.usage.memoryBytes.value as number) - (fileValue(n.usage.memoryBytes.file!) as number)), `${n.name} memory`).toBeLessThanOrEqual(Mi);
      // cpu time only grows: the view's value is at most what the file says now (v1's ns as µs)
      expect(n.usage.cpuUsageUsec.file).toBe(path.join(cgroupDir(files.cpuUsage[0]!, n.path), files.cpuUsage[1]!));
      const cpuNow = fileValue(n.usage.cpuUsageUsec.file!) as number;
      expect(n.usage.cpuUsageUsec.value as number).toBeGreaterThan(0);
      expect(n.usage.cpuUsageUsec.value as number).toBeLessThanOrEqual(isV2 ? cpuNow : Math.floor(cpuNow / 1000));
    }
    expect([root, pause, small, free].map((n) => n.usage.pids.value)).toEqual([3, 1, 1, 1]);

    // the processes of each leaf, none in the pod parent
    expect(root.processes).toEqual([]);
    expect(pause.processes).toEqual([{ pid: v.tree.children[0]!.processes[0]!.pid, command: ['/pause'] }]);
    expect(pause.processes[0]!.pid).toBe((await inspect(t, pod)).sandbox.pid);
    expect(small.processes).toEqual([{ pid: await pidOf(t, pod, 'small'), command: ['sleep', '3600'] }]);

    // the text: a tree, with usage / limit per cgroup and the processes under each
    const text = await t.ok(['cgroups', pod]);
    expect(text).toMatch(new RegExp(`^/${t.cgroupRoot}/${pod}   memory \\S+ / 128Mi   cpu \\S+s / 1000m   pids 3 / 200$`, 'm'));
    expect(text).toMatch(/^├─small {3}memory \S+ \/ 64Mi {3}cpu \S+s \/ 500m {3}pids 1 \/ 16$/m);
    expect(text).toMatch(new RegExp(`^│ └─${small.processes[0]!.pid} sleep 3600$`, 'm'));
    expect(text).toMatch(/^└─free {3}memory \S+ \/ max {3}cpu \S+s \/ max {3}pids 1 \/ max$/m);
    await t.ok(['pod', 'rm', '-f', pod]);
  });
});

describe.skipIf(skipReason)('top', () => {
  const t = useTestEnv();

  it("every process of each member's cgroup, forked children too: host pids that exist, pod pids from NSpid, parents in the pod", async () => {
    const pod = t.pod('top');
    await t.ok(['pod', 'create', pod, '--network', 'none', '--share', 'net,ipc,uts,pid']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sh', '-c', 'sleep 1000 & sleep 1000']);
    await t.ok(['run', '--pod', pod, '--name', 'solo', '--pid', 'private', '--', 'sh', '-c', 'sleep 1000 & sleep 1000']);
    const pause = (await inspect(t, pod)).sandbox.pid;
    const view = await eventually(
      async () => {
        const v = JSON.parse(await t.ok(['top', pod, '--json'])) as { pod: string; processes: TopProcess[] };
        const sleeps = (c: string) => v.processes.filter((p) => p.container === c && p.command.join(' ') === 'sleep 1000').length;
        return sleeps('app') === 2 && sleeps('solo') === 2 && v;
      },
      15_000,
      'both sleeps of each container',
    );
    expect(view.pod).toBe(pod);
    for (const p of view.processes) {
      expect(fs.existsSync(`/proc/${p.pid}`), `${p.pid}`).toBe(true);
      expect(p.podPid, `${p.container} ${p.pid}`).toBe(nspidOf(p.pid));
      expect(p.ppid).toBe(Number(/^PPid:\s*(\d+)$/m.exec(fs.readFileSync(`/proc/${p.pid}/status`, 'utf8'))![1]));
      expect(p.uid).toBe(0);
      expect(p.state).toMatch(/^[RSD]$/);
      expect(p.rssBytes).toBeGreaterThan(0);
    }
    const of = (c: string) => view.processes.filter((p) => p.container === c);
    // the pause is PID 1 of the pod's pid namespace
    expect(of('_pause')).toMatchObject([{ pid: pause, podPid: 1, podPpid: 0, command: ['/pause'] }]);
    // app is in the pod's pid namespace: its processes are not PID 1 there; the forked sleep's parent is the first one
    const app = of('app');
    const appMain = app.find((p) => !app.some((q) => q.pid === p.ppid))!;
    const appChild = app.find((p) => p !== appMain)!;
    expect(appMain.pid).toBe(await pidOf(t, pod, 'app'));
    expect(appChild.ppid).toBe(appMain.pid);
    expect(appChild.podPpid).toBe(appMain.podPid);
    expect(app.map((p) => p.podPid)).not.toContain(1);
    // solo has its own pid namespace: its first process is PID 1 there (its parent outside: 0), the forked one's parent is 1
    const solo = of('solo');
    const soloMain = solo.find((p) => p.podPid === 1)!;
    expect(soloMain).toMatchObject({ pid: await pidOf(t, pod, 'solo'), podPpid: 0 });
    expect(solo.find((p) => p !== soloMain)).toMatchObject({ ppid: soloMain.pid, podPpid: 1 });
    // the text: one row per process
    const text = await t.ok(['top', pod]);
    expect(text.split('\n')[0]).toMatch(/^CONTAINER\s+PID\s+POD PID\s+PPID\s+UID\s+STATE\s+RSS\s+COMMAND$/);
    expect(text).toMatch(new RegExp(`^\\(sandbox\\)\\s+${pause}\\s+1\\s+\\d+\\s+0\\s+S\\s+\\S+\\s+/pause$`, 'm'));
    expect(text).toMatch(new RegExp(`^solo\\s+${soloMain.pid}\\s+1\\s`, 'm'));
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('zombies, which have left their cgroup, under the member of their parent: a PID 1 that never waits', async () => {
    const pod = t.pod('zombies');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    // three orphans given to the container's PID 1, which then becomes sleep and never waits for them
    await t.ok(['run', '--pod', pod, '--name', 'lazy', '--', 'sh', '-c', 'mkfifo /tmp/f; for i in 1 2 3; do (cat /tmp/f &); done; exec sleep 3600']);
    const lazy = await pidOf(t, pod, 'lazy');
    await eventually(
      () => fs.readFileSync(`/proc/${lazy}/task/${lazy}/children`, 'utf8').trim().split(' ').filter(Boolean).length === 3,
      15_000,
      'three orphans of PID 1',
    );
    await t.ok(['exec', pod, 'lazy', '--', 'killall', 'cat']);
    const zombies = await eventually(
      async () => {
        const v = JSON.parse(await t.ok(['top', pod, '--json'])) as { processes: TopProcess[] };
        const z = v.processes.filter((p) => p.state === 'Z');
        return z.length === 3 && z;
      },
      15_000,
      'three zombies in top',
    );
    for (const z of zombies) {
      expect(z).toMatchObject({ container: 'lazy', ppid: lazy, podPpid: 1, command: ['[cat]'], rssBytes: 0 });
      expect(/^State:\s*Z/m.test(fs.readFileSync(`/proc/${z.pid}/status`, 'utf8'))).toBe(true);
    }
    await t.ok(['pod', 'rm', '-f', pod]);
  });
});

describe.skipIf(skipReason)('stats', () => {
  const t = useTestEnv();

  it('cpu %, memory and pids per member and for the pod, consistent with the cgroup files; a busy container shows cpu % > 0', async () => {
    const pod = t.pod('stats');
    await t.ok(['pod', 'create', pod, '--network', 'none', '--memory', '128Mi']);
    await t.ok(['run', '--pod', pod, '--name', 'burn', '--memory', '64Mi', '--pids-limit', '16', '--', 'sh', '-c', 'while :; do :; done']);
    await t.ok(['run', '--pod', pod, '--name', 'idle', '--', 'sleep', '3600']);
    const r = JSON.parse(await t.ok(['stats', pod, '--json'])) as StatsReport;
    expect(r.pod).toBe(pod);
    expect(r.windowMs).toBeGreaterThan(0);
    expect(r.members.map((m) => [m.name, m.state, m.cgroup])).toEqual([
      ['_pause', 'running', `/${t.cgroupRoot}/${pod}/_pause`],
      ['burn', 'running', `/${t.cgroupRoot}/${pod}/burn`],
      ['idle', 'running', `/${t.cgroupRoot}/${pod}/idle`],
    ]);
    const [pause, burn, idle] = r.members as [StatsRow, StatsRow, StatsRow];
    expect(burn.cpu.percent).toBeGreaterThan(0);
    expect(r.total.cpu.percent).toBeGreaterThan(0);
    // limits: its own, else the pod's
    expect(burn.memory).toMatchObject({ limitBytes: 64 * Mi, limitFrom: 'container' });
    expect(burn.pids).toMatchObject({ limit: 16, limitFrom: 'container' });
    expect(idle.memory).toMatchObject({ limitBytes: 128 * Mi, limitFrom: 'pod' });
    expect(idle.pids).toMatchObject({ limit: 'max', limitFrom: null });
    expect(r.total).toMatchObject({ name: pod, state: 'Running', cgroup: `/${t.cgroupRoot}/${pod}`, memory: { limitBytes: 128 * Mi, limitFrom: 'pod' } });
    expect(fileValue(path.join(cgroupDir('memory', burn.cgroup), isV2 ? 'memory.max' : 'memory.limit_in_bytes'))).toBe(64 * Mi);
    // usage: what the files say (pids exact, memory within 1 MiB, cpu time only grows), memory % of the bounding limit
    for (const m of [pause, burn, idle, r.total]) {
      expect(m.pids.current, m.name).toBe(fileValue(path.join(cgroupDir('pids', m.cgroup), 'pids.current')));
      const mem = fileValue(path.join(cgroupDir('memory', m.cgroup), isV2 ? 'memory.current' : 'memory.usage_in_bytes')) as number;
      expect(Math.abs(m.memory.usageBytes! - mem), m.name).toBeLessThanOrEqual(Mi);
      expect(m.memory.percent).toBeCloseTo((m.memory.usageBytes! / (m.memory.limitBytes as number)) * 100, 6);
      const cpuFile = isV2 ? path.join(cgroupDir('cpu', m.cgroup), 'cpu.stat') : path.join(cgroupDir('cpuacct', m.cgroup), 'cpuacct.usage');
      const cpuNow = fileValue(cpuFile) as number;
      expect(m.cpu.usageUsec!).toBeLessThanOrEqual(isV2 ? cpuNow : Math.floor(cpuNow / 1000));
    }
    expect([pause.pids.current, burn.pids.current, idle.pids.current, r.total.pids.current]).toEqual([1, 1, 1, 3]);
    // the text: a row per member, the pod total last
    const text = (await t.ok(['stats', pod])).trim().split('\n');
    expect(text[0]).toMatch(/^NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+PIDS$/);
    expect(text[2]).toMatch(/^burn\s+\d+\.\d\d%\s+\S+ \/ 64Mi\s+\d+\.\d\d%\s+1 \/ 16$/);
    expect(text[3]).toMatch(/^idle\s+\d+\.\d\d%\s+\S+ \/ 128Mi \(pod\)\s+\d+\.\d\d%\s+1 \/ max$/);
    expect(text[4]).toMatch(new RegExp(`^${pod} \\(pod total\\)\\s+\\d+\\.\\d\\d%\\s+\\S+ / 128Mi\\s+\\d+\\.\\d\\d%\\s+3 / max$`));
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('--watch --json: one document per line per sample; Ctrl-C ends it with exit 0', async () => {
    const pod = t.pod('watch');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    await t.ok(['run', '--pod', pod, '--name', 'burn', '--', 'sh', '-c', 'while :; do :; done']);
    const w = background(t, ['stats', pod, '--watch', '--json', '--interval', '200ms']);
    try {
      await eventually(() => w.out().split('\n').filter(Boolean).length >= 3, 15_000, 'three samples');
      w.signal('SIGINT');
      await w.closed;
      expect(w.code(), w.err()).toBe(0);
      const docs = w
        .out()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as StatsReport);
      expect(docs.length).toBeGreaterThanOrEqual(3);
      for (const d of docs) {
        expect(d.members.map((m) => m.name)).toEqual(['_pause', 'burn']);
        expect(d.total.name).toBe(pod);
      }
      // every sample after the first is measured over the interval, and the busy container shows
      expect(docs.slice(1).every((d) => d.windowMs >= 200)).toBe(true);
      expect(docs.some((d) => d.members[1]!.cpu.percent! > 0)).toBe(true);
      expect(new Set(docs.map((d) => d.time)).size).toBe(docs.length);
    } finally {
      await w.kill();
    }
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('--watch on a pipe: one key=value line per member per sample; the pod removed: a message and exit 0', async () => {
    const pod = t.pod('gone');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    const w = background(t, ['stats', pod, '--watch', '--interval', '200ms']);
    try {
      await eventually(() => w.out().split('\n').filter(Boolean).length >= 3, 15_000, 'one sample');
      const lines = w.out().trim().split('\n');
      expect(lines[0]).toMatch(
        new RegExp(`^\\S+Z ${pod}/\\(sandbox\\) state=running cpu=\\d+\\.\\d\\d% mem=\\S+ mem_limit=\\S+\\(host\\) mem%=\\S+ pids=1 pids_limit=max$`),
      );
      expect(lines[1]).toMatch(new RegExp(`^\\S+Z ${pod}/app state=running cpu=`));
      expect(lines[2]).toMatch(new RegExp(`^\\S+Z ${pod}/\\(pod\\) state=Running cpu=\\S+ mem=\\S+ mem_limit=\\S+\\(host\\) mem%=\\S+ pids=2 pids_limit=max$`));
      await t.ok(['pod', 'rm', '-f', pod]);
      await w.closed;
      expect(w.code(), w.err()).toBe(0);
      expect(w.err()).toBe(`barepod: pod "${pod}" was removed: stats ends\n`);
    } finally {
      await w.kill();
    }
  });

  it('--interval must be a duration of at least 100ms', async () => {
    for (const bad of ['0', '10ms', 'soon']) {
      const r = await t.bp(['stats', `${t.prefix}-any`, '--interval', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr, bad).toMatch(/--interval/);
    }
  });
});

/**
 * cgroup v2, live: in a private mount namespace with cgroup2 at
 * /sys/fs/cgroup the views read the unified tree. Only controllers free of
 * v1 can be enabled there, so memory and pids files are absent (null), but
 * the tree, the processes and cpu.stat's usage are real.
 */
describe.skipIf(skipReason || isV2)('the views on cgroup v2 (private mount namespace)', () => {
  const t = useTestEnv();

  it('cgroups, top, stats and ns read the unified hierarchy', async () => {
    const pod = t.pod('v2');
    const out = path.join(t.root, 'v2-out');
    const script = `
set -eu
mount -t cgroup2 none /sys/fs/cgroup
bp() { "${CLI}" "$@"; }
bp pod create ${pod} --network none >/dev/null
bp run --pod ${pod} --name app -- sh -c 'sleep 1000 & sleep 1000' >/dev/null
# until both sleeps run (the fork, and the exec of sh into the last one): bounded, 10 s at most
i=0
until [ "$(for p in $(cat /sys/fs/cgroup/${t.cgroupRoot}/${pod}/app/cgroup.procs); do tr '\\0' ' ' < /proc/$p/cmdline; echo; done | grep -c '^sleep 1000 $')" = 2 ]; do
  i=$((i + 1)); [ $i -lt 200 ] || { echo "the sleeps did not start" >&2; exit 1; }; sleep 0.05
done
mkdir -p ${out}
bp cgroups ${pod} --json > ${out}/cgroups.json
bp top ${pod} --json > ${out}/top.json
bp stats ${pod} --json > ${out}/stats.json
bp ns ${pod} --json > ${out}/ns.json
cat /sys/fs/cgroup/${t.cgroupRoot}/${pod}/app/cgroup.procs > ${out}/procs
bp pod rm -f ${pod} >/dev/null
`;
    const r = await run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], t.env);
    expect(r.code, r.stderr).toBe(0);
    const read = <T>(f: string) => JSON.parse(fs.readFileSync(path.join(out, f), 'utf8')) as T;
    const cg = read<CgView & { hierarchies: Record<string, string> }>('cgroups.json');
    expect(cg.cgroupVersion).toBe(2);
    expect(cg.hierarchies).toEqual({ memory: '/sys/fs/cgroup', cpu: '/sys/fs/cgroup', pids: '/sys/fs/cgroup' });
    expect(cg.tree.children.map((c) => [c.name, c.role])).toEqual([
      ['_pause', 'sandbox'],
      ['app', 'container'],
    ]);
    expect(cg.tree.children[0]!.processes.map((p) => p.command)).toEqual([['/pause']]);
    const app = cg.tree.children[1]!;
    expect(app.usage.cpuUsageUsec.file).toBe(`/sys/fs/cgroup/${t.cgroupRoot}/${pod}/app/cpu.stat`);
    expect(app.usage.cpuUsageUsec.value).toBeGreaterThan(0);
    const procs = fs
      .readFileSync(path.join(out, 'procs'), 'utf8')
      .trim()
      .split('\n')
      .map(Number)
      .sort((a, b) => a - b);
    expect(app.processes.map((p) => p.pid)).toEqual(procs);
    expect(app.processes.map((p) => p.command.join(' '))).toEqual(['sleep 1000', 'sleep 1000']);
    const top = read<{ processes: TopProcess[] }>('top.json');
    expect(
      top.processes
        .filter((p) => p.container === 'app')
        .map((p) => p.pid)
        .sort((a, b) => a - b),
    ).toEqual(procs);
    const stats = read<StatsReport>('stats.json');
    expect(stats.members.map((m) => m.name)).toEqual(['_pause', 'app']);
    expect(stats.members[1]!.cpu.usageUsec).toBeGreaterThan(0);
    const ns = read<NsView>('ns.json');
    // on v2 every member has a cgroup namespace of its own (runc makes one)
    expect(ns.members.map((m) => m.namespaces.cgroup?.relation)).toEqual(['own', 'own']);
    expect(ns.members[1]!.namespaces.net!.relation).toBe('shared');
  });
});
