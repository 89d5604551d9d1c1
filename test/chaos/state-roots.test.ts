/**
 * Two state roots, one pod name: `--root A pod create web` and `--root B pod
 * create web` must never share anything global. Judged on the host: each
 * pod's processes sit in a cgroup of their own whose limit file holds that
 * pod's limit; `cgroups` under A lists only A's processes; removing B's pod
 * leaves A's running; once both are gone nothing of either is left.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { cgroupDirs, cgroupRootOf, cgroupTops, CLI, mountsUnder, run, skipReason, useTestEnv } from '../helpers/harness.js';

const Mi = 1024 * 1024;

/** The cgroup of a process for the memory controller, as the kernel records it (v1's memory line, or v2's 0:: line). */
function memoryCgroup(pid: number): { dir: string; limitFile: string } {
  const lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  const v1 = lines.find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
  if (v1) {
    const p = v1.slice(v1.indexOf(':', v1.indexOf(':') + 1) + 1);
    return { dir: path.join('/sys/fs/cgroup/memory', p), limitFile: 'memory.limit_in_bytes' };
  }
  const v2 = lines.find((l) => l.startsWith('0::'))!;
  return { dir: path.join('/sys/fs/cgroup', v2.slice(3)), limitFile: 'memory.max' };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

interface Inspect {
  state: string;
  cgroupParent: string;
  sandbox: { pid: number };
  containers: { name: string; pid: number | null }[];
}
interface CgNode {
  processes: { pid: number }[];
  children: CgNode[];
}
const pidsOf = (n: CgNode): number[] => [...n.processes.map((p) => p.pid), ...n.children.flatMap(pidsOf)];

describe.skipIf(skipReason)('two state roots with a pod of the same name', () => {
  const t = useTestEnv();

  it('each has its own cgroup and limit, `cgroups` shows only its own processes, removing one leaves the other running, and both removed leave nothing', async () => {
    const pod = t.pod('web');
    // root B: a second state root beside the test's own (A); the same pod name in both
    const rootB = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-it-'));
    const envB = { ...t.env, BAREPOD_ROOT: rootB, BAREPOD_IMAGES: path.join(rootB, 'images') };
    const bpB = (args: string[]) => run(CLI, args, envB);
    const okB = async (args: string[]) => {
      const r = await bpB(args);
      if (r.code !== 0) throw new Error(`(root B) barepod ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout}`);
      return r.stdout;
    };
    onTestFinished(async () => {
      await bpB(['pod', 'rm', '-f', pod]);
      for (const d of cgroupTops(cgroupRootOf(rootB))) spawnSync('rmdir', [d]);
      fs.rmSync(rootB, { recursive: true, force: true });
    });

    await t.ok(['pod', 'create', pod, '--network', 'none', '--memory', '64Mi']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    await okB(['pod', 'create', pod, '--network', 'none', '--memory', '96Mi']);
    await okB(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);

    const a = JSON.parse(await t.ok(['inspect', pod, '--json'])) as Inspect;
    const b = JSON.parse(await okB(['inspect', pod, '--json'])) as Inspect;
    const appA = a.containers.find((c) => c.name === 'app')!.pid!;
    const appB = b.containers.find((c) => c.name === 'app')!.pid!;

    // where the kernel put each pod's processes: two different pod cgroups, each with its own pod's limit
    const podDirA = path.dirname(memoryCgroup(appA).dir);
    const podDirB = path.dirname(memoryCgroup(appB).dir);
    expect(podDirA).not.toBe(podDirB);
    expect(path.dirname(memoryCgroup(a.sandbox.pid).dir)).toBe(podDirA);
    expect(path.dirname(memoryCgroup(b.sandbox.pid).dir)).toBe(podDirB);
    const limit = (dir: string) => Number(fs.readFileSync(path.join(dir, memoryCgroup(appA).limitFile), 'utf8').trim());
    expect(limit(podDirA), `${podDirA}: A's pod limit`).toBe(64 * Mi);
    expect(limit(podDirB), `${podDirB}: B's pod limit`).toBe(96 * Mi);
    // what inspect says is where the processes are
    expect(podDirA.endsWith(a.cgroupParent)).toBe(true);
    expect(podDirB.endsWith(b.cgroupParent)).toBe(true);

    // `cgroups` under A: A's pause and app, none of B's
    const treeA = (JSON.parse(await t.ok(['cgroups', pod, '--json'])) as { tree: CgNode }).tree;
    expect(pidsOf(treeA).sort()).toEqual([a.sandbox.pid, appA].sort());

    // B's pod goes; A's keeps running with its limit
    await okB(['pod', 'rm', '-f', pod]);
    expect(alive(appB)).toBe(false);
    expect(alive(appA)).toBe(true);
    expect(alive(a.sandbox.pid)).toBe(true);
    expect((JSON.parse(await t.ok(['inspect', pod, '--json'])) as Inspect).state).toBe('Running');
    expect(limit(podDirA)).toBe(64 * Mi);
    expect(fs.existsSync(podDirB), `${podDirB} after B's pod rm`).toBe(false);

    // A's goes too: nothing of either is left (cgroups of the pod name under any top dir, the roots' own top dirs, runc state, mounts)
    await t.ok(['pod', 'rm', '-f', pod]);
    expect(alive(appA)).toBe(false);
    expect(cgroupDirs(t.prefix)).toEqual([]);
    expect(cgroupTops(cgroupRootOf(rootB))).toEqual([]);
    expect(spawnSync('runc', ['--root', path.join(rootB, 'runc'), 'list', '-q'], { encoding: 'utf8' }).stdout.trim()).toBe('');
    expect(mountsUnder(rootB)).toEqual([]);
    expect(fs.existsSync(path.join(rootB, 'pods', pod))).toBe(false);
  });

  it('generate systemd: the stored manifests (in the default manifest dir) of the two pods are two files', async () => {
    const pod = t.pod('unit');
    const rootB = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-it-'));
    const envB = { ...t.env, BAREPOD_ROOT: rootB, BAREPOD_IMAGES: path.join(rootB, 'images') };
    const stored: string[] = [];
    const manifests = '/var/lib/barepod/manifests';
    const hadManifests = fs.existsSync(manifests);
    onTestFinished(async () => {
      await run(CLI, ['pod', 'rm', '-f', pod], envB);
      for (const d of cgroupTops(cgroupRootOf(rootB))) spawnSync('rmdir', [d]);
      fs.rmSync(rootB, { recursive: true, force: true });
      // the copies went to the data dir's manifests/ (as a user's would): remove them and the per-root dirs they made
      for (const f of stored) {
        fs.rmSync(f, { force: true });
        if (path.basename(path.dirname(f)) !== 'manifests') spawnSync('rmdir', [path.dirname(f)]);
      }
      if (!hadManifests) spawnSync('rmdir', [manifests]);
    });
    await t.ok(['pod', 'create', pod, '--network', 'none', '--hostname', 'from-a']);
    const rB = await run(CLI, ['pod', 'create', pod, '--network', 'none', '--hostname', 'from-b'], envB);
    expect(rB.code, rB.stderr).toBe(0);
    const fileOf = (unit: string) => /up -f (\S+)/.exec(unit)![1]!;
    const unitA = await t.ok(['generate', 'systemd', pod]);
    stored.push(fileOf(unitA));
    const unitB = await run(CLI, ['generate', 'systemd', pod], envB);
    expect(unitB.code, unitB.stderr).toBe(0);
    stored.push(fileOf(unitB.stdout));
    expect(fileOf(unitA)).not.toBe(fileOf(unitB.stdout));
    expect(fs.readFileSync(fileOf(unitA), 'utf8')).toContain('from-a');
    expect(fs.readFileSync(fileOf(unitB.stdout), 'utf8')).toContain('from-b');
    // each unit's suggested name differs too
    const nameOf = (unit: string) => /enable --now (\S+)/.exec(unit)![1]!;
    expect(nameOf(unitA)).not.toBe(nameOf(unitB.stdout));
    await t.ok(['pod', 'rm', '-f', pod]);
    expect((await run(CLI, ['pod', 'rm', '-f', pod], envB)).code).toBe(0);
  });
});
