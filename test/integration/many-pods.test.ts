/**
 * Many pods in one state root: `ps` shows each as it is, and `gc` repairs the one broken pod among them (a
 * container whose exit handler was lost, a stray runc container a killed CLI left) and touches no other pod,
 * including pods whose names share a prefix ("web", "web-1"). gc and every command look at one pod's runc
 * ids only (Runc.ids(prefix)); the firewall sweep reads the IPAM reservations once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventually, killRunAtRuncStart, skipReason, useTestEnv } from '../helpers/harness.js';

interface PsView {
  pods: { name: string; state: string; containers: { container: string; state: string; pid: number | null; restarts: number }[] }[];
}
interface Rec {
  containers: { def: { name: string }; process: { pid: number }; conmon: { pid: number } }[];
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe.skipIf(skipReason)('many pods', () => {
  const t = useTestEnv();

  it('ps shows each of 8 pods; gc restarts the lost container of one and removes the stray of another, and no other pod changes', async () => {
    const names = ['web', 'web-1', 'web-2', 'webx', 'db', 'db-1', 'cache', 'q'].map((n) => t.pod(n));
    const [web, web1] = [names[0]!, names[1]!];
    for (const pod of names) {
      await t.ok(['pod', 'create', pod, '--network', 'none', '--restart', 'always', '--backoff', '0s']);
      await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    }
    const ps = async () => JSON.parse(await t.ok(['ps', '--json'])) as PsView;
    const rec = (pod: string) => JSON.parse(fs.readFileSync(path.join(t.root, 'pods', pod, 'pod.json'), 'utf8')) as Rec;
    const before = await ps();
    expect(before.pods.map((p) => p.name).sort()).toEqual([...names].sort());
    for (const p of before.pods) {
      expect(p.state).toBe('Running');
      expect(p.containers.map((c) => [c.container, c.state])).toEqual([
        ['_pause', 'running'],
        ['app', 'running'],
      ]);
      // each pod's own process: the pid its record names, alive, and no other pod's
      expect(p.containers[1]!.pid).toBe(rec(p.name).containers[0]!.process.pid);
      expect(alive(p.containers[1]!.pid!)).toBe(true);
    }
    expect(new Set(before.pods.map((p) => p.containers[1]!.pid)).size).toBe(names.length);

    // web-1: its app and its monitor killed, so no exit handler runs; only gc can notice
    const lost = rec(web1).containers[0]!;
    process.kill(lost.conmon.pid, 'SIGKILL');
    process.kill(lost.process.pid, 'SIGKILL');
    await eventually(() => !alive(lost.process.pid));
    // web: a runc container its record never got (a run killed between runc create and start)
    await killRunAtRuncStart(t, web, 'stray');
    expect(fs.existsSync(path.join(t.root, 'runc', `${web}.stray`, 'state.json'))).toBe(true);

    const actions = JSON.parse(await t.ok(['gc', '--json'])) as { pod: string; action: string }[];
    expect(actions).toContainEqual({ pod: web1, action: 'restarted app (its exit handler was lost)' });
    expect(actions.filter((a) => a.pod !== web1)).toEqual([]);
    expect(fs.existsSync(path.join(t.root, 'runc', `${web}.stray`))).toBe(false); // gone, and its pod kept
    const after = await ps();
    for (const p of after.pods) {
      const was = before.pods.find((b) => b.name === p.name)!;
      expect(p.containers.map((c) => [c.container, c.state])).toEqual([
        ['_pause', 'running'],
        ['app', 'running'],
      ]);
      if (p.name === web1) {
        expect(p.containers[1]!.pid).not.toBe(lost.process.pid);
        expect(p.containers[1]!.restarts).toBe(1);
      } else {
        expect(p.containers.map((c) => c.pid)).toEqual(was.containers.map((c) => c.pid)); // untouched: the same processes
        expect(p.containers[1]!.restarts).toBe(0);
      }
      expect(alive(p.containers[1]!.pid!)).toBe(true);
    }
    expect(JSON.parse(await t.ok(['gc', '--json']))).toEqual([]);
    for (const pod of names) await t.ok(['pod', 'rm', '-f', pod]);
  });
});
