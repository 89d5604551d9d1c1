/**
 * The pod cgroup parent on this host's hierarchy (v1 or v2, live), and on
 * cgroup v2 in a private mount namespace with cgroup2 at /sys/fs/cgroup.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, cgroupDirs, eventually, inspect, pidOf, run, skipReason, useTestEnv } from '../helpers/harness.js';

const isV2 = (() => {
  try {
    return fs.statfsSync('/sys/fs/cgroup').type === 0x63677270;
  } catch {
    return false;
  }
})();

function procCgroups(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')) {
    const [, ctrl = '', p = ''] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    out[ctrl] = p;
  }
  return out;
}

describe.skipIf(skipReason)('pod cgroups on this host', () => {
  const t = useTestEnv();

  it('each member lives in /barepod/<pod>/<container>; pod limits on the parent, container limits on the child', async () => {
    const pod = t.pod('cg');
    await t.ok(['pod', 'create', pod, '--memory', '128Mi', '--pids-limit', '200', '--cpus', '1']);
    await t.ok(['run', '--pod', pod, '--name', 'free', '--', 'sleep', '3600']);
    await t.ok(['run', '--pod', pod, '--name', 'small', '--memory', '64Mi', '--pids-limit', '16', '--', 'sleep', '3600']);
    const v = await inspect(t, pod);
    expect(v.cgroupParent).toBe(`/${t.cgroupRoot}/${pod}`);
    const free = await pidOf(t, pod, 'free');
    const small = await pidOf(t, pod, 'small');
    for (const [pid, name] of [
      [free, 'free'],
      [small, 'small'],
      [v.sandbox.pid, '_pause'],
    ] as const) {
      const cg = procCgroups(pid);
      const paths = Object.entries(cg).filter(([ctrl]) => ctrl !== 'name=systemd' && ctrl !== '');
      if (isV2) expect(cg['']).toBe(`/${t.cgroupRoot}/${pod}/${name}`);
      else for (const [ctrl, p] of paths) expect(p, `${name} ${ctrl}`).toBe(`/${t.cgroupRoot}/${pod}/${name}`);
    }
    if (isV2) {
      const base = `/sys/fs/cgroup/${t.cgroupRoot}/${pod}`;
      expect(fs.readFileSync(`${base}/memory.max`, 'utf8').trim()).toBe(String(128 * 1024 * 1024));
      expect(fs.readFileSync(`${base}/small/memory.max`, 'utf8').trim()).toBe(String(64 * 1024 * 1024));
      expect(fs.readFileSync(`${base}/free/memory.max`, 'utf8').trim()).toBe('max');
    } else {
      const mem = `/sys/fs/cgroup/memory/${t.cgroupRoot}/${pod}`;
      const read = (f: string) => fs.readFileSync(path.join(mem, f), 'utf8');
      expect(read('memory.limit_in_bytes').trim()).toBe(String(128 * 1024 * 1024));
      expect(read('small/memory.limit_in_bytes').trim()).toBe(String(64 * 1024 * 1024));
      // the child without its own limit is bounded by the pod's: hierarchical accounting
      expect(read('free/memory.stat')).toMatch(new RegExp(`^hierarchical_memory_limit ${128 * 1024 * 1024}$`, 'm'));
      expect(read('small/memory.stat')).toMatch(new RegExp(`^hierarchical_memory_limit ${64 * 1024 * 1024}$`, 'm'));
      const pids = `/sys/fs/cgroup/pids/${t.cgroupRoot}/${pod}`;
      expect(fs.readFileSync(`${pids}/pids.max`, 'utf8').trim()).toBe('200');
      expect(fs.readFileSync(`${pids}/small/pids.max`, 'utf8').trim()).toBe('16');
      const cpu = `/sys/fs/cgroup/cpu/${t.cgroupRoot}/${pod}`;
      expect(fs.readFileSync(`${cpu}/cpu.cfs_quota_us`, 'utf8').trim()).toBe('100000');
    }
    await t.ok(['pod', 'rm', '-f', pod]);
    expect(cgroupDirs(t.prefix)).toEqual([]);
  });

  it('killing the pause (restart policy never): the pod is marked Failed and run is refused; pod rm still cleans everything', async () => {
    const pod = t.pod('dead');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    const pause = (await inspect(t, pod)).sandbox.pid;
    process.kill(pause, 'SIGKILL');
    type Ps = { pods: { state: string; containers: { container: string; state: string }[] }[] };
    const ps = await eventually(async () => {
      const v = JSON.parse(await t.ok(['ps', pod, '--json'])) as Ps;
      return v.pods[0]?.state === 'Failed' && v;
    });
    expect(ps.pods[0]?.containers.map((c) => [c.container, c.state])).toEqual([
      ['_pause', 'exited'],
      ['app', 'exited'],
    ]);
    const r = await t.bp(['run', '--pod', pod, '--name', 'late', '--', 'sleep', '3600']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/pod "[^"]+" has failed: its sandbox \(pause pid \d+\) died and the pod's restart policy is Never/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    await t.ok(['pod', 'rm', pod, '--time', '1']);
  });

  it('a sandbox that died unseen (no exit handler ran): run is refused with the sandbox-gone error', async () => {
    const pod = t.pod('unseen');
    await t.ok(['pod', 'create', pod]);
    const rec = JSON.parse(fs.readFileSync(path.join(t.root, 'pods', pod, 'pod.json'), 'utf8')) as { sandbox: { pid: number; conmon: { pid: number } } };
    process.kill(rec.sandbox.conmon.pid, 'SIGKILL'); // the monitor first: no exit command will run
    process.kill(rec.sandbox.pid, 'SIGKILL');
    const r = await eventually(async () => {
      const res = await t.bp(['run', '--pod', pod, '--name', 'late', '--', 'sleep', '3600']);
      return res.code !== 0 && res;
    });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/sandbox is gone \(pause pid \d+ has exited\)/);
    await t.ok(['pod', 'rm', pod, '--time', '1']);
  });

  it('the PID-reuse guard: a record whose pause start time does not match refuses to join', async () => {
    const pod = t.pod('reuse');
    await t.ok(['pod', 'create', pod]);
    const recFile = path.join(t.root, 'pods', pod, 'pod.json');
    const rec = JSON.parse(fs.readFileSync(recFile, 'utf8')) as { sandbox: { startTime: string } };
    const real = rec.sandbox.startTime;
    rec.sandbox.startTime = '1'; // as if the recorded pause had died and its pid been reused
    fs.writeFileSync(recFile, JSON.stringify(rec));
    const r = await t.bp(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/now belongs to another process/);
    rec.sandbox.startTime = real;
    fs.writeFileSync(recFile, JSON.stringify(rec));
    await t.ok(['pod', 'rm', '-f', pod]);
  });
});

/**
 * cgroup v2, live: a private mount namespace with cgroup2 mounted at
 * /sys/fs/cgroup makes runc (and barepod) run in unified mode. Only the
 * controllers free of v1 can be enabled there, so limits are unit-tested on
 * a fake tree; hierarchy, cgroup namespace and teardown are checked here.
 */
describe.skipIf(skipReason || isV2)('pod cgroups on cgroup v2 (private mount namespace)', () => {
  const t = useTestEnv();

  it('creates /barepod-<root hash>/<pod>/<container> in the unified hierarchy, an own cgroup namespace, and removes it all', async () => {
    const pod = t.pod('v2');
    const script = `
set -eu
mount -t cgroup2 none /sys/fs/cgroup
bp() { "${CLI}" "$@"; }
bp pod create ${pod} >/dev/null
bp run --pod ${pod} --name app -- sleep 3600 >/dev/null
pid=$(bp inspect ${pod} --json | "${process.execPath}" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).containers[0].pid))')
echo "cgroup=$(grep "^0::" /proc/$pid/cgroup)"
echo "cgroup_inside=$(nsenter -t $pid -C -m -p cat /proc/1/cgroup | grep "^0::")"
echo "cgroupns_app=$(stat -L -c %i /proc/$pid/ns/cgroup)"
echo "cgroupns_host=$(stat -L -c %i /proc/self/ns/cgroup)"
echo "dirs=$(cd /sys/fs/cgroup/${t.cgroupRoot}/${pod} && ls -d */ | tr -d / | tr '\\n' ,)"
echo "spec_ns=$(bp spec ${pod} app | grep -c '"type": "cgroup"$')"
bp pod rm -f ${pod} >/dev/null
echo "after=$(ls /sys/fs/cgroup/${t.cgroupRoot} 2>/dev/null | grep -c ${pod} || true)"
echo "top_left=$(test -e /sys/fs/cgroup/${t.cgroupRoot} && echo yes || echo no)"
`;
    const r = await run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], t.env);
    expect(r.code, r.stderr).toBe(0);
    const kv = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(kv.cgroup).toBe(`0::/${t.cgroupRoot}/${pod}/app`);
    expect(kv.cgroup_inside).toBe('0::/'); // in its own cgroup namespace the container sees itself at the root
    expect(kv.cgroupns_app).not.toBe(kv.cgroupns_host);
    expect(kv.dirs?.split(',').filter(Boolean).sort()).toEqual(['_pause', 'app']);
    expect(kv.spec_ns).toBe('1');
    expect(kv.after).toBe('0');
    expect(kv.top_left).toBe('no'); // the state root's own top dir goes with its last pod
  });
});
