import fs from 'node:fs';
import path from 'node:path';
import { readPidFile } from '../runtime/conmon.js';
import { catchesSignal, identify, innermostPid, isAlive, namespaceInode, readCmdline, readComm, readProcStatus } from '../runtime/procfs.js';
import type { ProcessIdentity } from '../model.js';
import { same, type Lab, type LabContext } from './lab.js';
import { pidsInPidNamespace, zombiesInPidNamespace } from './probes.js';

const SIGNALS = { HUP: 1, INT: 2, TERM: 15, CHLD: 17 } as const;
const ORPHANS = 5;

/**
 * A container's command that leaves orphans: each `( … &)` is a subshell
 * that starts a `cat` (blocked for good on a fifo nobody writes) and exits at
 * once, so the cat loses its parent; then the shell becomes `sleep`.
 */
const ORPHAN_MAKER = `sh -c 'mkfifo /tmp/never; for i in ${Array.from({ length: ORPHANS }, (_, i) => i + 1).join(' ')}; do (cat /tmp/never &); done; exec sleep 3600'`;

/** Which of the handlers pause.c installs a process has (from SigCgt), e.g. "INT TERM CHLD". */
function handlers(pid: number): string {
  return Object.entries(SIGNALS)
    .filter(([, n]) => catchesSignal(pid, n))
    .map(([name]) => name)
    .join(' ');
}

/** The orphaned cats of a pid namespace (alive, not zombies). */
function cats(pidNs: number): number[] {
  return pidsInPidNamespace(pidNs).filter((p) => readCmdline(p)[0] === 'cat' && readProcStatus(p)?.state !== 'Z');
}

/**
 * Waits until the container's orphans all exist and have been given to their
 * new parent (the subshell that started each one exits a moment later), and
 * keeps their identities for later claims; says what it saw when they do not.
 */
async function orphansGoTo(ctx: LabContext, container: string, parent: (init: number) => number): Promise<true | string> {
  const ns = namespaceInode(await ctx.pid(`reap/${container}`), 'pid')!;
  const init = pidsInPidNamespace(ns).find((p) => innermostPid(p) === 1)!;
  const expected = parent(init);
  let seen: number[] = [];
  try {
    await ctx.until(() => {
      seen = cats(ns);
      return seen.length === ORPHANS && seen.every((c) => readProcStatus(c)?.ppid === expected);
    }, `${ORPHANS} orphaned cats, children of pid ${expected}`);
  } catch (e) {
    return `${(e as Error).message}; saw ${seen.length}, parents ${seen.map((c) => readProcStatus(c)?.ppid).join(', ') || 'none'}`;
  }
  ctx.vars[`${container}Cats`] = seen.map((p) => identify(p)).filter(Boolean);
  return true;
}

/** Lab 4 (seed 001; scenario S3): the pause program itself: its signals, and reaping orphans as PID 1. */
export const lab4: Lab = {
  id: 4,
  page: '04-pause.md',
  title: 'The pause process',
  seeds: ['001'],
  summary:
    'pause.c is a few lines: exit on SIGINT/SIGTERM, reap every child on SIGCHLD, warn when not PID 1, sleep forever. Build it, run it by hand, then watch it as PID 1 of a pod: orphans are re-parented to it and reaped, while a PID 1 that never waits collects zombies.',
  pods: ['reap'],
  steps: [
    {
      title: 'pause.c, built by hand',
      say: 'The sandbox process of every pod is this C program (bundles/pause/pause.c, after Kubernetes\' own). It installs three signal handlers and calls pause() forever; -v prints its version and exits.',
      run: ['cat {repo}/bundles/pause/pause.c', 'cc -O2 -Wall -o {dir}/pause {repo}/bundles/pause/pause.c', '{dir}/pause -v'],
      look: 'on_shutdown (SIGINT, SIGTERM), on_child (SIGCHLD: waitpid(-1, …, WNOHANG) until none is left), the warning, the pause() loop.',
      claims: [
        {
          says: 'the program built: -v prints the version and exits 0',
          holds: async (ctx) => {
            const r = await ctx.sh(`${path.join(ctx.dir, 'pause')} -v`);
            return r.code === 0 && /^barepod pause \S+$/.test(r.stdout.trim()) ? true : `exit ${r.code}: "${r.stdout.trim()}" ${r.stderr.trim()}`;
          },
        },
      ],
    },
    {
      title: 'Not PID 1: a warning',
      say: 'Run by hand from your shell it is an ordinary process with some pid; it says so on stderr, because as PID 1 of a pod it is the one orphans are given to, and here it is not.',
      run: ['{dir}/pause > {dir}/pause.log 2>&1 & echo $! > {dir}/pause.pid'],
      claims: [
        {
          says: 'pause warns that it is not PID 1',
          holds: async (ctx) => {
            const pid = readPidFile(path.join(ctx.dir, 'pause.pid'));
            if (!pid) return 'no pid file';
            ctx.vars.hand = identify(pid);
            const log = await ctx.until(() => {
              // the background job opens its log itself: it may not exist yet
              const text = fs.existsSync(path.join(ctx.dir, 'pause.log')) ? fs.readFileSync(path.join(ctx.dir, 'pause.log'), 'utf8') : '';
              return text.includes('not PID 1') && text;
            }, 'the warning');
            return /warning: not PID 1/.test(log) ? true : log;
          },
        },
        {
          says: 'it handles exactly SIGINT, SIGTERM and SIGCHLD (SigCgt), not SIGHUP',
          holds: async (ctx) => {
            const pid = (ctx.vars.hand as ProcessIdentity).pid;
            const got = await ctx.until(() => handlers(pid).includes('CHLD') && handlers(pid), 'its handlers');
            ctx.vars.handlers = got;
            return same('handlers', got, 'INT TERM CHLD');
          },
        },
      ],
    },
    {
      title: 'SIGTERM: a clean exit',
      say: 'SIGTERM (or SIGINT) runs on_shutdown: a line on stderr, exit 0. That is how a pod\'s sandbox is stopped; SIGKILL would do too, since nothing needs flushing.',
      run: [
        'grep -E \'^(Pid|PPid|SigCgt)\' /proc/$(cat {dir}/pause.pid)/status',
        'kill -TERM $(cat {dir}/pause.pid)',
        { cmd: 'until grep -q SIGTERM {dir}/pause.log; do sleep 0.1; done; cat {dir}/pause.log', timeoutSeconds: 15 },
      ],
      look: 'SigCgt 0000000000014002: bit N-1 for signal N, so 2 (INT), 15 (TERM) and 17 (CHLD); then "got SIGTERM, shutting down".',
      claims: [
        {
          says: 'it said why and exited',
          holds: async (ctx) => {
            const hand = ctx.vars.hand as ProcessIdentity;
            await ctx.until(() => !isAlive(hand), 'the hand-run pause to exit');
            const log = fs.readFileSync(path.join(ctx.dir, 'pause.log'), 'utf8');
            return log.includes('got SIGTERM, shutting down') ? true : log;
          },
        },
      ],
    },
    {
      title: 'In a pod, pause is PID 1',
      say: 'barepod starts the same program (built statically by scripts/setup into /var/lib/barepod/builtin/pause/rootfs) as the first process of the pod\'s new pid namespace. With --share pid every container joins that namespace, so pause is their PID 1.',
      run: [
        'barepod pod create {pod:reap} --network none --share net,ipc,uts,pid',
        'grep -E \'^(NSpid|SigCgt)\' /proc/{pid:reap}/status',
        '/proc/{pid:reap}/exe -v',
      ],
      look: 'NSpid: the host pid, then 1 (so no warning this time); the same SigCgt as the one you ran; /proc/<pid>/exe is the very binary it runs.',
      claims: [
        {
          says: 'the pod\'s pause is PID 1 of its pid namespace, with the same handlers as the one built by hand',
          holds: async (ctx) => {
            const pid = await ctx.pid('reap');
            if (innermostPid(pid) !== 1) return `it is PID ${innermostPid(pid)} in its namespace`;
            return same('handlers', handlers(pid), ctx.vars.handlers);
          },
        },
      ],
    },
    {
      title: 'Orphans are re-parented to PID 1',
      say: 'A container makes orphans: each ( … &) is a subshell that starts a cat and exits at once. A process whose parent dies is given to the nearest "subreaper" ancestor in its own pid namespace or, failing that, to the namespace\'s PID 1: the pause. (conmon, the container\'s monitor, is a subreaper, but it lives outside the pod\'s pid namespace.)',
      run: [`barepod run --pod {pod:reap} --name orphans -- ${ORPHAN_MAKER}`],
      claims: [
        {
          says: `the ${ORPHANS} orphans are children of the pause`,
          holds: async (ctx) => {
            const pause = await ctx.pid('reap');
            return orphansGoTo(ctx, 'orphans', () => pause);
          },
        },
      ],
    },
    {
      title: 'They exit: pause reaps them',
      say: 'An exited process stays a zombie (state Z: just its exit status) until its parent calls wait(). The orphans\' parent is the pause: each exit sends it SIGCHLD, and on_child reaps every exited child.',
      run: [
        'barepod exec {pod:reap} orphans -- ps -o pid,ppid,stat,args',
        'barepod top {pod:reap}',
        'barepod exec {pod:reap} orphans -- killall cat',
        'barepod exec {pod:reap} orphans -- ps -o pid,ppid,stat,args',
      ],
      look: 'before: five cats with PPID 1, the pause; top still counts them in the orphans container (a cgroup is inherited at fork, whoever the parent becomes). After: gone, no Z line.',
      claims: [
        {
          says: 'the orphans exited and were reaped: no zombie is left in the pod',
          holds: async (ctx) => {
            const mine = ctx.vars.orphansCats as ProcessIdentity[];
            // reaped = gone from /proc altogether (a zombie is still there, in state Z)
            await ctx.until(() => mine.every((c) => identify(c.pid)?.startTime !== c.startTime), 'the orphans to be reaped');
            const zombies = zombiesInPidNamespace(namespaceInode(await ctx.pid('reap'), 'pid')!);
            return zombies.length === 0 ? true : `zombies: ${zombies.join(', ')}`;
          },
        },
      ],
    },
    {
      title: 'An init that never waits',
      say: 'The same command in a container that opts out of the pod\'s pid namespace (--pid private): its own shell is PID 1 there, so the orphans are given to it, and it then becomes sleep, which never calls wait().',
      run: [`barepod run --pod {pod:reap} --name lazy --pid private -- ${ORPHAN_MAKER}`],
      claims: [
        {
          says: `the ${ORPHANS} orphans are children of the container's PID 1, sleep`,
          holds: async (ctx) => {
            const given = await orphansGoTo(ctx, 'lazy', (init) => init);
            if (given !== true) return given;
            const lazy = await ctx.pid('reap/lazy');
            await ctx.until(() => readComm(lazy) === 'sleep', 'the shell to become sleep');
            return true as const;
          },
        },
      ],
    },
    {
      title: 'Zombies pile up',
      say: 'Killed, the orphans exit, but sleep never waits for them: they stay zombies for as long as their parent lives. Zombies hold a pid each; enough of them exhaust the pid limit. This is why a pod\'s PID 1 must reap, and why images use tini or dumb-init as PID 1.',
      run: [
        'barepod exec {pod:reap} lazy -- killall cat',
        'barepod exec {pod:reap} lazy -- ps -o pid,ppid,stat,args',
        'barepod top {pod:reap}',
      ],
      look: `${ORPHANS} lines [cat] with STAT Z and PPID 1 in lazy, and in top under lazy; none in the pod's shared namespace.`,
      claims: [
        {
          says: `${ORPHANS} zombies in lazy's pid namespace, all children of its sleep`,
          holds: async (ctx) => {
            const lazy = await ctx.pid('reap/lazy');
            const zombies = await ctx.until(() => {
              const z = zombiesInPidNamespace(namespaceInode(lazy, 'pid')!);
              return z.length === ORPHANS && z;
            }, `${ORPHANS} zombies`);
            const parents = [...new Set(zombies.map((z) => readProcStatus(z)?.ppid))];
            ctx.vars.zombies = zombies.map((z) => identify(z)).filter(Boolean);
            return same('parent of the zombies', parents.join(','), String(lazy));
          },
        },
        {
          says: 'meanwhile the pod\'s shared pid namespace, under pause, has none',
          holds: async (ctx) => same('zombies under pause', zombiesInPidNamespace(namespaceInode(await ctx.pid('reap'), 'pid')!).length, 0),
        },
      ],
    },
    {
      title: 'Removing the container clears them',
      say: 'When a pid namespace\'s PID 1 exits, the kernel kills every other process in the namespace and, on its way out, waits for all of its children itself: the zombies go with it.',
      run: ['barepod rm -f {pod:reap} lazy', 'barepod ps {pod:reap}'],
      claims: [
        {
          says: 'the zombies are gone',
          holds: async (ctx) => {
            const zombies = ctx.vars.zombies as ProcessIdentity[];
            await ctx.until(() => zombies.every((z) => identify(z.pid)?.startTime !== z.startTime), 'the zombies to go');
            return true as const;
          },
        },
      ],
    },
  ],
  async cleanup(ctx) {
    // the pause run by hand, if the lab stopped before it was told to exit (its pid file says which; its argv proves it is ours)
    const pid = readPidFile(path.join(ctx.dir, 'pause.pid'));
    if (pid && readCmdline(pid)[0] === path.join(ctx.dir, 'pause')) process.kill(pid, 'SIGKILL');
  },
};
