/**
 * Monitors outlive the caller's session (issue 13, item 5). systemd stops a
 * scope or ends a login session by killing every process of its cgroup; a
 * pod's conmons (and the exit handlers and restart timers they run) must not
 * be among them. Here the "session" is a plain cgroup the test makes (systemd
 * is not PID 1 on this machine): barepod runs with its pid in it, then every
 * process of that cgroup is killed, and the pod must still be supervised: a
 * container crash is restarted by its policy (a new pid, a restart counted).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, cgroupRootOf, eventually, inspect, podManifest, run, skipReason, type TestEnv, useTestEnv } from '../helpers/harness.js';

const isV2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');

/** The v1 hierarchies a session's tracking uses here: systemd's named one, pids, and the unified one of a hybrid host. */
const SESSION_HIERARCHIES = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/pids', '/sys/fs/cgroup/unified'].filter((h) =>
  fs.existsSync(path.join(h, 'cgroup.procs')),
);

const alive = (pid: number): boolean => {
  try {
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
};

/** conmon processes of this test's state root. */
function conmonsOf(root: string): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (path.basename(cmd[0] ?? '') === 'conmon' && cmd.join(' ').includes(root) && alive(Number(p))) out.push(Number(p));
    } catch {
      // gone
    }
  }
  return out.sort((a, b) => a - b);
}

/** What systemd does to a scope it stops: SIGKILL to every process of the cgroup, until it is empty. */
async function killCgroup(dirs: string[]): Promise<number[]> {
  const killed = new Set<number>();
  for (let i = 0; i < 100; i++) {
    const pids = dirs.flatMap((d) => fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
    if (pids.length === 0) return [...killed];
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
      } catch {
        // gone meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`processes still in ${dirs.join(', ')}`);
}

async function restartsOf(t: TestEnv, pod: string, name: string): Promise<{ pid: number | null; restarts: number; state: string }> {
  const v = JSON.parse(await t.ok(['ps', pod, '--json'])) as {
    pods: { containers: { container: string; pid: number | null; restarts: number; state: string }[] }[];
  };
  const c = v.pods[0]!.containers.find((x) => x.container === name)!;
  return { pid: c.pid, restarts: c.restarts, state: c.state };
}

describe.skipIf(skipReason || isV2 || SESSION_HIERARCHIES.length === 0)("monitors outlive the caller's cgroup (cgroup v1)", () => {
  const t = useTestEnv();

  it('killing every process of the cgroup barepod ran in leaves the conmons alive, and a crash is still restarted', async () => {
    const pod = t.pod('scope');
    const session = SESSION_HIERARCHIES.map((h) => path.join(h, `${t.prefix}-session`));
    for (const d of session) fs.mkdirSync(d);
    try {
      // like a command run in a login session's scope: barepod's own pid sits in the test's cgroup
      const inSession = (args: string[]) =>
        run('sh', ['-c', `for d in "$@"; do echo $$ > "$d/cgroup.procs"; done; exec "${CLI}" ${args.join(' ')}`, 'sh', ...session], t.env);
      for (const args of [
        ['pod', 'create', pod, '--network', 'none', '--restart', 'always', '--backoff', '0s'],
        ['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600'],
      ]) {
        const r = await inSession(args);
        expect(r.code, r.stderr).toBe(0);
      }
      const conmons = conmonsOf(t.root);
      expect(conmons).toHaveLength(2); // the sandbox's and app's

      await killCgroup(session); // the scope is stopped
      expect(conmons.filter(alive), "conmons alive after the caller's cgroup was killed").toEqual(conmons);
      // they live in the pod's own monitor leaf, in every hierarchy, not in the session's cgroup
      for (const h of SESSION_HIERARCHIES) {
        const procs = fs
          .readFileSync(path.join(h, cgroupRootOf(t.root), '_conmon', pod, 'cgroup.procs'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map(Number);
        expect(
          procs.sort((a, b) => a - b),
          h,
        ).toEqual(conmons);
      }

      // supervision goes on: a crash is restarted by the policy (conmon's exit command, run from the monitor leaf)
      const before = await restartsOf(t, pod, 'app');
      expect(before.state).toBe('running');
      process.kill(before.pid!, 'SIGKILL');
      const after = await eventually(
        async () => {
          const now = await restartsOf(t, pod, 'app');
          return now.restarts === 1 && now.state === 'running' && now.pid !== before.pid && now.pid !== null ? now : undefined;
        },
        30_000,
        'app restarted after its crash',
      );
      expect(alive(after.pid!)).toBe(true);
      expect((await inspect(t, pod)).sandbox.alive).toBe(true);

      await t.ok(['pod', 'rm', '-f', pod]);
      // the monitor leaf went with the pod, in every hierarchy
      for (const h of SESSION_HIERARCHIES) {
        expect(fs.existsSync(path.join(h, cgroupRootOf(t.root), pod))).toBe(false);
        expect(fs.existsSync(path.join(h, cgroupRootOf(t.root), '_conmon', pod))).toBe(false);
      }
    } finally {
      await killCgroup(session).catch(() => []);
      for (const d of session) fs.rmdirSync(d);
    }
  });
  it("the prober `up` starts leaves the caller's cgroup too, and outlives it", async () => {
    const pod = t.pod('probed');
    const session = SESSION_HIERARCHIES.map((h) => path.join(h, `${t.prefix}-session`));
    for (const d of session) fs.mkdirSync(d);
    try {
      const file = podManifest(
        t,
        pod,
        `  terminationGracePeriodSeconds: 1
  containers:
    - name: app
      image: busybox
      command: [sleep, "3600"]
      readinessProbe: {exec: {command: ["true"]}, periodSeconds: 1}
`,
        '  annotations: {barepod.io/network: none}\n',
      );
      const r = await run('sh', ['-c', `for d in "$@"; do echo $$ > "$d/cgroup.procs"; done; exec "${CLI}" up -f ${file}`, 'sh', ...session], t.env);
      expect(r.code, r.stderr).toBe(0);
      const rec = JSON.parse(fs.readFileSync(path.join(t.root, 'pods', pod, 'pod.json'), 'utf8')) as { prober?: { pid: number } };
      const prober = rec.prober!.pid;
      expect(prober).toBeGreaterThan(0);
      await killCgroup(session);
      expect(alive(prober), "the prober after the caller's cgroup was killed").toBe(true);
      // it lives in the pod's monitor leaf (systemd's hierarchy names it), beside the conmons
      expect(fs.readFileSync(`/proc/${prober}/cgroup`, 'utf8')).toMatch(new RegExp(`^\\d+:name=systemd:/${cgroupRootOf(t.root)}/_conmon/${pod}$`, 'm'));
      await t.ok(['down', pod]);
    } finally {
      await killCgroup(session).catch(() => []);
      for (const d of session) fs.rmdirSync(d);
    }
  });

  it("a restart timer a CLI call starts (gc after a lost exit handler) leaves the caller's cgroup and still fires", async () => {
    const pod = t.pod('timer');
    await t.ok(['pod', 'create', pod, '--network', 'none', '--restart', 'always', '--backoff', '2s']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    const before = await restartsOf(t, pod, 'app');
    // the app's monitor dies, then the app: nobody runs its exit handler
    const appConmon = Number(fs.readFileSync(path.join(t.root, 'pods', pod, 'containers', 'app', 'conmon.pid'), 'utf8').trim());
    process.kill(appConmon, 'SIGKILL');
    await eventually(() => !alive(appConmon), 5_000, 'conmon to die');
    process.kill(before.pid!, 'SIGKILL');
    await eventually(() => !alive(before.pid!), 5_000, 'app to die');
    const session = SESSION_HIERARCHIES.map((h) => path.join(h, `${t.prefix}-session`));
    for (const d of session) fs.mkdirSync(d);
    try {
      // gc, run from the "session", finds the lost exit and schedules the restart: a sleeper of 2s
      const r = await run('sh', ['-c', `for d in "$@"; do echo $$ > "$d/cgroup.procs"; done; exec "${CLI}" gc`, 'sh', ...session], t.env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('scheduled a restart of app');
      await killCgroup(session); // the session ends while the timer sleeps
      const after = await eventually(
        async () => {
          const now = await restartsOf(t, pod, 'app');
          return now.restarts === 1 && now.state === 'running' && now.pid !== null && now.pid !== before.pid ? now : undefined;
        },
        30_000,
        'the delayed restart to happen',
      );
      expect(alive(after.pid!)).toBe(true);
      await t.ok(['pod', 'rm', '-f', pod]);
    } finally {
      await killCgroup(session).catch(() => []);
      for (const d of session) fs.rmdirSync(d);
    }
  });
});

describe.skipIf(skipReason || isV2)("monitors outlive the caller's cgroup (cgroup v2, private mount namespace)", () => {
  const t = useTestEnv();

  it('killing the cgroup barepod ran in leaves the conmons in /<top>/_conmon/<pod> alive, and a crash is still restarted', async () => {
    const pod = t.pod('v2scope');
    const session = `/sys/fs/cgroup/${t.prefix}-session`;
    const top = cgroupRootOf(t.root); // this state root's top cgroup dir
    const node = process.execPath;
    const json = (expr: string) => `"${node}" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);console.log(${expr})})'`;
    const script = `
set -eu
mount -t cgroup2 none /sys/fs/cgroup
bp() { "${CLI}" "$@"; }
mkdir ${session}
# barepod run from inside the "session" cgroup
sh -c 'echo $$ > ${session}/cgroup.procs; exec "${CLI}" pod create ${pod} --network none --restart always --backoff 0s' >/dev/null
sh -c 'echo $$ > ${session}/cgroup.procs; exec "${CLI}" run --pod ${pod} --name app -- sleep 3600' >/dev/null
echo "monitors=$(tr '\\n' , < /sys/fs/cgroup/${top}/_conmon/${pod}/cgroup.procs)"
echo "dirs=$(cd /sys/fs/cgroup/${top}/${pod} && ls -d */ | tr -d / | tr '\\n' ,)"
# stop the "scope": SIGKILL everything in it until it is empty
while [ -s ${session}/cgroup.procs ]; do for p in $(cat ${session}/cgroup.procs); do kill -9 $p 2>/dev/null || true; done; sleep 0.02; done
rmdir ${session}
alive=""; for p in $(tr '\\n' ' ' < /sys/fs/cgroup/${top}/_conmon/${pod}/cgroup.procs); do alive="$alive$p,"; done
echo "alive=$alive"
pid=$(bp ps ${pod} --json | ${json('v.pods[0].containers.find(c=>c.container==="app").pid')})
kill -9 $pid
i=0; new=""
while [ $i -lt 300 ]; do
  new=$(bp ps ${pod} --json | ${json('(c=>c.state==="running"&&c.restarts===1?c.pid:"")(v.pods[0].containers.find(c=>c.container==="app"))')})
  [ -n "$new" ] && [ "$new" != "$pid" ] && break
  new=""; i=$((i+1)); sleep 0.1
done
echo "old=$pid"
echo "new=$new"
bp pod rm -f ${pod} >/dev/null
echo "after=$( (ls /sys/fs/cgroup/${top}; ls /sys/fs/cgroup/${top}/_conmon) 2>/dev/null | grep -c ${pod} || true)"
`;
    const r = await run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], t.env);
    // the session cgroup is in the host's unified hierarchy too (hybrid): gone even when the script stopped half-way
    const hostSession = `/sys/fs/cgroup/unified/${t.prefix}-session`;
    if (fs.existsSync(hostSession)) {
      await killCgroup([hostSession]).catch(() => []);
      fs.rmdirSync(hostSession);
    }
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const kv = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const monitors = (kv.monitors ?? '').split(',').filter(Boolean);
    expect(monitors.length, r.stdout).toBeGreaterThanOrEqual(2); // the sandbox's conmon and app's
    expect((kv.dirs ?? '').split(',').filter(Boolean).sort()).toEqual(['_pause', 'app']); // the pod's own cgroup holds its members only
    // every monitor placed there survived the killed session (their exit handlers may have joined since)
    expect((kv.alive ?? '').split(',').filter(Boolean)).toEqual(expect.arrayContaining(monitors));
    expect(kv.new, r.stdout).toMatch(/^\d+$/);
    expect(kv.new).not.toBe(kv.old);
    expect(kv.after).toBe('0');
  });
});
