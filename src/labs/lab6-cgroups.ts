import fs from 'node:fs';
import path from 'node:path';
import { SANDBOX_NAME } from '../plan/pod-plan.js';
import { CgroupFs, flatKey, parseCgroupLimit, RESOURCE_FILES } from '../runtime/cgroupfs.js';
import { identify, isAlive, readProcCgroups } from '../runtime/procfs.js';
import { psMember, same, type Lab, type LabContext } from './lab.js';

const MiB = 1024 * 1024;

/** The cgroup filesystem of this mount namespace (v1 or v2, as runc sees it). */
const cgroups = () => CgroupFs.forHost();
const isV2 = () => cgroups().version === 2;

/** The memory cgroup of a live process, as the kernel records it in /proc/<pid>/cgroup. */
function memoryCgroupOf(pid: number): string | undefined {
  const groups = readProcCgroups(pid);
  return isV2() ? groups[''] : groups['memory'];
}

/** A file of a memory cgroup, read from the cgroup filesystem. */
function memoryFile(cgroupPath: string, file: string): string | undefined {
  return cgroups().read('memory', cgroupPath, file);
}

/** The memory limit of a cgroup in bytes; Infinity when it has none (v2 "max", v1 the page-counter maximum). */
function memoryLimit(cgroupPath: string): number | undefined {
  const limit = parseCgroupLimit(memoryFile(cgroupPath, RESOURCE_FILES[cgroups().version].memoryLimit.file));
  return limit === 'max' ? Infinity : limit;
}

/** How many processes the OOM killer killed in a cgroup (v2 memory.events oom_kill, v1 memory.oom_control oom_kill). */
function oomKills(cgroupPath: string): number | undefined {
  return flatKey(memoryFile(cgroupPath, isV2() ? 'memory.events' : 'memory.oom_control'), 'oom_kill');
}

/**
 * Whether, and how often, a cgroup's usage reached its own limit: v2 counts
 * it (memory.events max); v1's failure counters proved unreliable here (both
 * stayed 0 for an OOM-killed container), so on v1 it is 1 when the peak usage
 * (memory.max_usage_in_bytes) is the limit, else 0.
 */
function limitHits(cgroupPath: string): number | undefined {
  if (isV2()) return flatKey(memoryFile(cgroupPath, 'memory.events'), 'max');
  const peak = memoryFile(cgroupPath, 'memory.max_usage_in_bytes');
  const limit = memoryLimit(cgroupPath);
  return peak === undefined || limit === undefined ? undefined : Number(peak) >= limit ? 1 : 0;
}

/** The pod's cgroup, the parent of a container's as the kernel records it. */
async function podCgroupOf(ctx: LabContext): Promise<string> {
  const app = memoryCgroupOf(await ctx.pid('lim/app'));
  if (!app) throw new Error('lab: the cgroup of app is unreadable');
  return path.posix.dirname(app);
}

/** Waits until a container is OOMKilled by barepod's account. */
async function oomKilled(ctx: LabContext, container: string): Promise<true | string> {
  const m = await ctx.until(async () => {
    const c = await psMember(ctx, 'lim', container);
    return c.state !== 'running' && c.state !== 'created' && c;
  }, `${container} to die`);
  return m.status === 'OOMKilled' && m.exitCode === 137 ? true : `status ${m.status}, exit code ${String(m.exitCode)}`;
}

/** Records the pause, app and side as they are (pid and start time), for stillRunning to compare with later. */
async function recordSurvivors(ctx: LabContext): Promise<void> {
  ctx.vars.survivors = { pause: identify(await ctx.pid('lim')), app: identify(await ctx.pid('lim/app')), side: identify(await ctx.pid('lim/side')) };
}

/** Holds when the pause, app and side recorded are still the very same live processes (no restart, no pid reuse). */
function stillRunning(ctx: LabContext): true | string {
  const before = ctx.vars.survivors as Record<string, ReturnType<typeof identify>>;
  const dead = Object.entries(before).filter(([, id]) => !isAlive(id)).map(([n]) => n);
  return dead.length === 0 ? true : `no longer running: ${dead.join(', ')}`;
}

const CD = 'cd /sys/fs/cgroup/memory 2>/dev/null && f=memory.limit_in_bytes || { cd /sys/fs/cgroup; f=memory.max; };';
const HOG = `sh -c 'x=a; while :; do x=$x$x; done'`;

/** Lab 6 (seed 003): a pod is a cgroup parent with a child per container; limits at both levels; an OOM kill stays inside one container. */
export const lab6: Lab = {
  id: 6,
  page: '06-cgroups.md',
  title: 'The cgroups of a pod',
  seeds: ['003'],
  summary:
    'A pod is a cgroup parent with one child cgroup per container (the pause too). A pod limit goes on the parent and binds every container; a container limit on its child. A container that outgrows its limit is OOM-killed alone: the pod stays up.',
  pods: ['lim'],
  steps: [
    {
      title: 'The pod cgroup and its children',
      say: 'barepod makes the pod cgroup /barepod/<pod> before the pause starts, and runc puts each member (the pause too, as _pause) in a child of it. /proc/<pid>/cgroup says where a process is, one line per hierarchy (cgroup v1 has one per controller; v2 one line, 0::).',
      run: [
        'barepod pod create {pod:lim} --network none --memory 96Mi',
        'barepod run --pod {pod:lim} --name app -- sleep 3600',
        'barepod run --pod {pod:lim} --name side --memory 32Mi -- sleep 3600',
        'cat /proc/{pid:lim}/cgroup',
        'cat /proc/{pid:lim/app}/cgroup',
        `${CD} ls -d {cgroup:lim}/*/`,
        'barepod cgroups {pod:lim}',
      ],
      look: 'every line of /proc/<pid>/cgroup ends in /barepod/<pod>/<member>; the pod directory holds _pause, app and side.',
      claims: [
        {
          says: 'the pause, app and side each run in a child of the pod cgroup: /barepod/<pod>/_pause, …/app, …/side',
          holds: async (ctx) => {
            const want = (n: string) => `/${ctx.cgroupRoot ?? 'barepod'}/${ctx.pod('lim')}/${n}`;
            const got = [memoryCgroupOf(await ctx.pid('lim')), memoryCgroupOf(await ctx.pid('lim/app')), memoryCgroupOf(await ctx.pid('lim/side'))];
            const expected = [want(SANDBOX_NAME), want('app'), want('side')];
            return got.every((g, i) => g?.endsWith(expected[i]!)) ? true : `cgroups ${got.join(', ')}`;
          },
        },
        {
          says: 'in the cgroup filesystem, those three are directories inside the pod\'s',
          holds: async (ctx) => {
            const dir = cgroups().dirFor('memory', await podCgroupOf(ctx));
            const subdirs = dir ? fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) : [];
            return [SANDBOX_NAME, 'app', 'side'].every((n) => subdirs.includes(n)) ? true : `${dir} holds ${subdirs.join(', ') || 'nothing'}`;
          },
        },
      ],
    },
    {
      title: 'A pod limit and a container limit',
      say: 'The pod\'s --memory 96Mi is written by barepod on the pod cgroup; the container\'s --memory 32Mi by runc on the container\'s. A limit holds for everything below it, so app, with no limit of its own, is still held to the pod\'s 96 MiB, and all the pod\'s containers together too.',
      run: [
        `${CD} for d in {cgroup:lim} {cgroup:lim}/app {cgroup:lim}/side; do echo "$d/$f: $(cat $d/$f)"; done`,
        `${CD} grep -H hierarchical_memory_limit {cgroup:lim}/app/memory.stat || echo "(cgroup v2: no such line; the parent's memory.max holds everything below it)"`,
      ],
      look: 'the pod: 100663296 (96 MiB); side: 33554432 (32 MiB); app: unlimited (v1 9223372036854771712, v2 max), but v1\'s hierarchical_memory_limit says 96 MiB.',
      claims: [
        {
          says: 'the pod cgroup has the pod limit: 96 MiB',
          holds: async (ctx) => same('limit of the pod cgroup', memoryLimit(await podCgroupOf(ctx)), 96 * MiB),
        },
        {
          says: 'side\'s own cgroup has its container limit: 32 MiB',
          holds: async (ctx) => same('limit of side\'s cgroup', memoryLimit(memoryCgroupOf(await ctx.pid('lim/side')) ?? ''), 32 * MiB),
        },
        {
          says: 'app has no limit of its own, yet the pod\'s binds it (v1: its hierarchical_memory_limit is 96 MiB)',
          holds: async (ctx) => {
            const app = memoryCgroupOf(await ctx.pid('lim/app')) ?? '';
            const own = memoryLimit(app);
            const effective = isV2() ? memoryLimit(path.posix.dirname(app)) : flatKey(memoryFile(app, 'memory.stat'), 'hierarchical_memory_limit');
            await recordSurvivors(ctx);
            return own === Infinity && effective === 96 * MiB ? true : `own ${String(own)}, effective ${String(effective)}`;
          },
        },
      ],
    },
    {
      title: 'A container outgrows its limit',
      say: 'hog doubles a shell string until it no longer fits in its 32 MiB. The kernel\'s memory controller cannot reclaim enough in hog\'s cgroup, so the OOM killer kills a process of that cgroup, and only of that cgroup. conmon notices the OOM kill and barepod records the reason.',
      run: [`barepod run --pod {pod:lim} --name hog --memory 32Mi -- ${HOG}`],
      claims: [
        {
          says: 'hog is OOMKilled: barepod says OOMKilled, exit code 137 (128 + SIGKILL)',
          holds: (ctx) => oomKilled(ctx, 'hog'),
        },
        {
          says: 'the kernel counted the kill in hog\'s own cgroup (oom_kill ≥ 1 in v1 memory.oom_control, v2 memory.events), and hog\'s usage had reached its 32 MiB',
          holds: async (ctx) => {
            const hog = `${await podCgroupOf(ctx)}/hog`;
            const kills = oomKills(hog);
            const hits = limitHits(hog);
            return (kills ?? 0) >= 1 && (hits ?? 0) >= 1 ? true : `oom_kill ${String(kills)}, limit hits ${String(hits)}`;
          },
        },
      ],
    },
    {
      title: 'The pod is still up',
      say: 'An OOM kill is one container\'s exit like any other: the pause, app and side run on, as the same processes. (hog is not restarted: this pod\'s policy is never.)',
      run: [
        'barepod ps {pod:lim}',
        'barepod events {pod:lim} --since 1m',
        'cd /sys/fs/cgroup/memory 2>/dev/null && cat {cgroup:lim}/hog/memory.oom_control || grep oom /sys/fs/cgroup/{cgroup:lim}/hog/memory.events',
        'barepod stats {pod:lim}',
      ],
      look: 'hog OOMKilled (137); the others Running with the pids of step 1; an oom event; oom_kill 1.',
      claims: [
        {
          says: 'the pause, app and side are the same processes as before the OOM kill',
          holds: stillRunning,
        },
        {
          says: 'barepod says the pod is Running',
          holds: async (ctx) => {
            const view = await ctx.json<{ pods: { state: string }[] }>(['ps', ctx.pod('lim')]);
            // what the pod cgroup counted so far, for the next step to show its own limit being hit
            ctx.vars.podHits = limitHits(await podCgroupOf(ctx)) ?? 0;
            return same('pod state', view.pods[0]?.state, 'Running');
          },
        },
      ],
    },
    {
      title: 'The pod limit holds a container that has none',
      say: 'greedy has no memory limit of its own, so it grows until the pod\'s 96 MiB (shared with app and side) is used up. Now the limit hit is the pod cgroup\'s, and the OOM killer picks the biggest process below it: greedy.',
      run: [`barepod run --pod {pod:lim} --name greedy -- ${HOG}`],
      claims: [
        {
          says: 'greedy is OOMKilled too, although its own cgroup has no limit',
          holds: async (ctx) => {
            const killed = await oomKilled(ctx, 'greedy');
            if (killed !== true) return killed;
            const own = memoryLimit(`${await podCgroupOf(ctx)}/greedy`);
            return own === Infinity ? true : `greedy's own limit is ${String(own)}`;
          },
        },
      ],
    },
    {
      title: 'Which limit was hit',
      say: 'greedy\'s own cgroup says unlimited; the pod cgroup shows its usage went up to its limit (cgroup v1 keeps the peak, memory.max_usage_in_bytes; v2 counts the times usage hit memory.max in memory.events, "max"). The rest of the pod is untouched again.',
      run: [
        `${CD} echo "greedy's $f: $(cat {cgroup:lim}/greedy/$f)"; if [ -f {cgroup:lim}/memory.max_usage_in_bytes ]; then echo "the pod's peak usage: $(cat {cgroup:lim}/memory.max_usage_in_bytes)"; else grep -H max {cgroup:lim}/memory.events; fi`,
        'barepod ps {pod:lim}',
      ],
      look: 'greedy: unlimited; the pod\'s peak usage: 100663296, its limit (v2: the "max" count went up); greedy OOMKilled, the others Running with their old pids.',
      claims: [
        {
          says: 'the limit hit was the pod\'s: the pod cgroup reached its 96 MiB (v1: its peak usage memory.max_usage_in_bytes is the limit; v2: memory.events max rose)',
          holds: async (ctx) => {
            const hits = limitHits(await podCgroupOf(ctx));
            return (hits ?? 0) > (ctx.vars.podHits as number) ? true : `the pod cgroup counted ${String(hits)}, ${String(ctx.vars.podHits)} before greedy`;
          },
        },
        {
          says: 'and the pod is still up: the pause, app and side are the same processes',
          holds: stillRunning,
        },
      ],
    },
  ],
};
