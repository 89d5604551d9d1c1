/**
 * Volumes and options from the CLI on real runc: run -v / --mount / --tmpfs /
 * --read-only, pod create -v (a pod volume shared by its containers), run
 * --hostname refused, and export writing it all back as a manifest that `up`
 * makes into the same pod. Judged on the host: a file's content, a mount's
 * type, what a pod record holds.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { eventually, mountsUnder, pidOf, readInContainer, skipReason, type TestEnv, test } from '../helpers/harness.js';

interface Rec {
  def: { volumes?: unknown[]; podMounts?: unknown[]; hostname: string };
  containers: { def: { name: string; mounts?: unknown[]; security?: unknown } }[];
}
const record = (t: TestEnv, pod: string): Rec => JSON.parse(fs.readFileSync(path.join(t.root, 'pods', pod, 'pod.json'), 'utf8')) as Rec;

/** A host directory of the test's own (under its state root's parent dir, removed with it). */
function hostDir(t: TestEnv, name: string): string {
  const d = path.join(t.root, 'host', name);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/** A container's log, both streams (`logs` prints the container's stderr on its own). */
async function logs(t: TestEnv, pod: string, container: string): Promise<string> {
  const r = await t.bp(['logs', pod, container]);
  return r.stdout + r.stderr;
}

/** The mountinfo line of a container's mount point. */
const mountLine = (pid: number, target: string) =>
  fs
    .readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[4] === target);

describe.skipIf(skipReason)('volumes and options from the CLI', () => {
  test('-v HOSTDIR:CTRDIR: a file the container writes is on the host; :ro and --mount …,readonly refuse a write (the host file is unchanged)', async ({
    t,
  }) => {
    const pod = t.pod('bind');
    const rw = hostDir(t, 'rw');
    const ro = hostDir(t, 'ro');
    fs.writeFileSync(path.join(ro, 'canary'), 'host\n');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    await t.ok([
      'run',
      '--pod',
      pod,
      '--name',
      'app',
      '-v',
      `${rw}:/out`,
      '-v',
      `${ro}:/ro:ro`,
      '--mount',
      `type=bind,source=${ro},target=/ro2,readonly`,
      '--',
      'sh',
      '-c',
      'echo written > /out/file; echo evil > /ro/canary; echo evil > /ro/new; echo evil > /ro2/canary; echo done > /out/done; exec sleep 3600',
    ]);
    await eventually(() => fs.existsSync(path.join(rw, 'done')), 15_000, 'the container to finish writing');
    expect(fs.readFileSync(path.join(rw, 'file'), 'utf8')).toBe('written\n');
    expect(fs.readFileSync(path.join(ro, 'canary'), 'utf8')).toBe('host\n');
    expect(fs.existsSync(path.join(ro, 'new'))).toBe(false);
    expect(await eventually(async () => /Read-only file system/.test(await logs(t, pod, 'app')))).toBe(true);
    // started again, it has the same mounts (they are in its definition and the pod's volumes)
    await t.ok(['stop', '--time', '0', pod, 'app']);
    fs.rmSync(path.join(rw, 'done'));
    fs.rmSync(path.join(rw, 'file'));
    await t.ok(['start', pod, 'app']);
    await eventually(() => fs.existsSync(path.join(rw, 'done')), 15_000, 'the restarted container');
    expect(fs.readFileSync(path.join(rw, 'file'), 'utf8')).toBe('written\n');
    expect(fs.readFileSync(path.join(ro, 'canary'), 'utf8')).toBe('host\n');
    await t.ok(['pod', 'rm', '-f', pod]);
    // a hostPath is the user's: it stays, with what the container wrote
    expect(fs.readFileSync(path.join(rw, 'file'), 'utf8')).toBe('written\n');
  });

  test('--tmpfs and --mount type=tmpfs are a tmpfs inside (mountinfo), capped by their size; --read-only refuses a write to /', async ({ t }) => {
    const pod = t.pod('tmpfs');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    await t.ok([
      'run',
      '--pod',
      pod,
      '--name',
      'app',
      '--read-only',
      '--tmpfs',
      '/scratch:size=8Mi',
      '--mount',
      'type=tmpfs,target=/run/x,tmpfs-size=4m',
      '--',
      'sh',
      '-c',
      'echo ok > /scratch/f; echo no > /rootfile; exec sleep 3600',
    ]);
    const pid = await pidOf(t, pod, 'app');
    const scratch = mountLine(pid, '/scratch');
    expect(scratch).toMatch(/ - tmpfs \S+ rw,.*size=8192k/);
    expect(mountLine(pid, '/run/x')).toMatch(/ - tmpfs \S+ rw,.*size=4096k/);
    expect(await eventually(() => readInContainer(pid, '/scratch/f'))).toBe('ok\n');
    // the root is mounted read-only, and the write to it made nothing: not in the container, not in its upper dir on the host
    expect(mountLine(pid, '/')?.split(' ')[5]).toMatch(/^ro\b/);
    expect(await eventually(async () => /Read-only file system/.test(await logs(t, pod, 'app')))).toBe(true);
    expect(readInContainer(pid, '/rootfile')).toBeUndefined();
    expect(fs.readdirSync(path.join(t.root, 'pods', pod, 'containers', 'app')).length).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(t.root, 'pods', pod, 'containers', 'app', 'upper', 'rootfile'))).toBe(false);
    // the tmpfs volumes are the container's: `rm` takes them (unmounted, their directories gone) and the pod forgets them
    const volumes = path.join(t.root, 'pods', pod, 'volumes');
    expect(mountsUnder(volumes)).toHaveLength(2);
    await t.ok(['rm', '-f', pod, 'app']);
    expect(mountsUnder(volumes)).toEqual([]);
    expect(fs.readdirSync(volumes)).toEqual([]);
    expect(record(t, pod).def.volumes).toBeUndefined();
    await t.ok(['run', '--pod', pod, '--name', 'app', '--tmpfs', '/scratch', '--', 'sleep', '3600']);
    expect(mountLine(await pidOf(t, pod, 'app'), '/scratch')).toMatch(/ - tmpfs /);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  test('pod create -v NAME: a pod volume one container writes and another reads; NAME:CTRDIR is mounted in every container', async ({ t }) => {
    const pod = t.pod('shared');
    const out = hostDir(t, 'out');
    await t.ok(['pod', 'create', pod, '--network', 'none', '-v', 'data', '-v', 'cache:/cache', '-v', 'mem:/mem:size=4Mi']);
    await t.ok([
      'run',
      '--pod',
      pod,
      '--name',
      'writer',
      '-v',
      'data:/data',
      '--',
      'sh',
      '-c',
      'mkdir /data/dir; echo s > /data/dir/f; echo from-writer > /data/msg; echo m > /mem/m; echo c > /cache/c; exec sleep 3600',
    ]);
    await eventually(() => fs.existsSync(path.join(t.root, 'pods', pod, 'volumes', 'cache', 'c')), 15_000, 'the writer');
    await t.ok([
      'run',
      '--pod',
      pod,
      '--name',
      'reader',
      '-v',
      'data:/in:ro',
      '-v',
      `${out}:/out`,
      '--mount',
      'type=volume,source=data,target=/sub,subpath=dir,readonly',
      '--',
      'sh',
      '-c',
      'cat /in/msg > /out/read; cat /cache/c > /out/cache; cat /sub/f > /out/sub; echo x > /in/msg; exec sleep 3600',
    ]);
    expect(await eventually(() => fs.existsSync(path.join(out, 'cache')) && fs.readFileSync(path.join(out, 'read'), 'utf8'))).toBe('from-writer\n');
    expect(fs.readFileSync(path.join(out, 'cache'), 'utf8')).toBe('c\n');
    expect(fs.readFileSync(path.join(out, 'sub'), 'utf8')).toBe('s\n');
    // the pod's tmpfs volume: one tmpfs, capped, what the writer put there is the reader's too
    const reader = await pidOf(t, pod, 'reader');
    expect(mountLine(reader, '/mem')).toMatch(/ - tmpfs \S+ rw,.*size=4096k/);
    expect(readInContainer(reader, '/mem/m')).toBe('m\n');
    // the reader's :ro held: the writer's file is as it wrote it
    expect(fs.readFileSync(path.join(t.root, 'pods', pod, 'volumes', 'data', 'msg'), 'utf8')).toBe('from-writer\n');
    // an unknown pod volume is refused, naming the pod's volumes
    const r = await t.bp(['run', '--pod', pod, '--name', 'x', '-v', 'nope:/n', '--', 'true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`pod "${pod}" has no volume "nope" (it has data, cache, mem`);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  test('run --hostname is refused (the pod owns it); bad mounts are refused before anything runs, and a failed start takes its new volumes back', async ({
    t,
  }) => {
    const pod = t.pod('refuse');
    await t.ok(['pod', 'create', pod, '--network', 'none', '--hostname', 'owned', '-v', 'data']);
    const h = await t.bp(['run', '--pod', pod, '--name', 'app', '--hostname', 'mine', '--', 'sleep', '3600']);
    expect(h.code).toBe(2);
    expect(h.stderr).toContain('the pod owns the hostname (set it with pod create --hostname)');
    const missing = path.join(t.root, 'no-such-dir');
    for (const [flag, text] of [
      ['-v', 'relative/dir:/a'],
      ['-v', `${missing}:/a`],
      ['--mount', 'type=bind,source=data,target=/a'],
      ['--tmpfs', '/a:mode=1777'],
    ] as const) {
      const r = await t.bp(['run', '--pod', pod, '--name', 'app', flag, text, '--', 'sleep', '3600']);
      expect(r.code, `${flag} ${text}`).not.toBe(0);
      expect(r.stderr).toContain(`${flag} "${text}"`);
    }
    expect(fs.existsSync(missing)).toBe(false); // never created
    // a subpath missing in the volume fails the start after the tmpfs volume was made: it is unmounted and forgotten again
    const before = record(t, pod).def.volumes;
    const f = await t.bp([
      'run',
      '--pod',
      pod,
      '--name',
      'app',
      '--tmpfs',
      '/t',
      '--mount',
      'type=volume,source=data,target=/d,subpath=absent',
      '--',
      'sleep',
      '3600',
    ]);
    expect(f.code).not.toBe(0);
    expect(f.stderr).toContain('subPath "absent"');
    expect(record(t, pod).def.volumes).toEqual(before);
    expect(record(t, pod).containers).toEqual([]);
    expect(mountsUnder(path.join(t.root, 'pods', pod, 'volumes'))).toEqual([]);
    expect(fs.readdirSync(path.join(t.root, 'pods', pod, 'volumes'))).toEqual(['data']);
    // a mount below a pod volume another container writes (either one run first) is refused, as in a manifest: a link written there would lead runc out
    const inner = hostDir(t, 'inner');
    await t.ok(['run', '--pod', pod, '--name', 'nested', '-v', 'data:/d', '-v', `${inner}:/d/x`, '--', 'sleep', '3600']);
    const w = await t.bp(['run', '--pod', pod, '--name', 'writer', '-v', 'data:/w', '--', 'sh', '-c', 'rmdir /w/x; ln -s /dev /w/x; exec sleep 3600']);
    expect(w.code).not.toBe(0);
    expect(w.stderr).toContain('"/d/x" lies below "/d" (volume "data"), which container "writer" can write');
    expect(record(t, pod).containers.map((c) => c.def.name)).toEqual(['nested']);
    await t.ok(['rm', '-f', pod, 'nested']);
    expect(fs.readdirSync(inner)).toEqual([]);
    // the container's hostname is the pod's
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    expect(readInContainer(await pidOf(t, pod, 'app'), '/etc/hostname')).toBe('owned\n');
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  test('export writes the CLI mounts back as a manifest; up makes the same volumes, mounts and read-only root from it, and they behave the same', async ({
    t,
  }) => {
    const pod = t.pod('trip');
    const host = hostDir(t, 'h');
    const ro = hostDir(t, 'ro');
    fs.writeFileSync(path.join(ro, 'canary'), 'host\n');
    await t.ok(['pod', 'create', pod, '--network', 'none', '-v', 'data', '-v', 'cache:/cache']);
    const script = 'echo $1 > /h/$1; echo evil > /ro/canary; echo x > /root-$1; cat /data/m > /h/m-$1; exec sleep 3600';
    await t.ok(['run', '--pod', pod, '--name', 'side', '--mount', 'type=volume,source=data,target=/d', '--', 'sh', '-c', 'echo m > /d/m; exec sleep 3600']);
    await eventually(() => fs.existsSync(path.join(t.root, 'pods', pod, 'volumes', 'data', 'm')), 15_000, 'the side container');
    const args = ['-v', `${host}:/h`, '-v', `${ro}:/ro:ro`, '--tmpfs', '/tmp:size=16Mi', '-v', 'data:/data:ro', '--read-only'];
    await t.ok(['run', '--pod', pod, '--name', 'app', ...args, '--', 'sh', '-c', script, 'sh', 'first']);
    await eventually(() => fs.existsSync(path.join(host, 'first')), 15_000, 'the first app');
    const exported = await t.ok(['export', pod]);
    expect(exported).toContain('readOnlyRootFilesystem: true');
    expect(exported).toContain('medium: Memory');
    const before = record(t, pod);
    await t.ok(['pod', 'rm', '-f', pod]);
    const file = path.join(t.root, 'trip.yaml');
    fs.writeFileSync(file, exported.replace(/- first\n/, '- second\n'));
    await t.ok(['up', '-f', file]);
    const after = record(t, pod);
    expect(after.def.volumes).toEqual(before.def.volumes);
    for (const name of ['side', 'app']) {
      const mounts = (r: Rec) => r.containers.find((c) => c.def.name === name)?.def;
      expect(mounts(after)?.mounts, name).toEqual(mounts(before)?.mounts);
      expect(mounts(after)?.security, name).toEqual(mounts(before)?.security);
    }
    await eventually(() => fs.existsSync(path.join(host, 'second')), 15_000, 'the app made by up');
    // the app and the side container share the pod volume again (the side one may write after the app read: only what the app wrote is sure)
    const pid = await pidOf(t, pod, 'app');
    expect(mountLine(pid, '/tmp')).toMatch(/ - tmpfs \S+ rw,.*size=16384k/);
    expect(mountLine(pid, '/')?.split(' ')[5]).toMatch(/^ro\b/);
    expect(fs.readFileSync(path.join(ro, 'canary'), 'utf8')).toBe('host\n');
    expect(readInContainer(pid, '/root-second')).toBeUndefined();
    await t.ok(['down', pod]);
  });
});
