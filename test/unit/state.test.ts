/**
 * The state root's files on a full disk: the pod lock is one symlink (never
 * torn, no data block), an older barepod's lock file is still understood, a
 * record that did not change is not written again, and a removal that cannot
 * write the record marks the pod with an empty file.
 */
import { parseResolved } from '../helpers/resolve.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inspectLock, StateStore, withFileLock } from '../../src/runtime/state.js';
import { identify } from '../../src/runtime/procfs.js';
import { POD_DEFAULTS, type PodRecord } from '../../src/model.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-state-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the pod lock', () => {
  it('is a symlink naming its holder while held, and gone after', async () => {
    const lock = path.join(dir, 'locks', 'web');
    const seen = await withFileLock(lock, 'pod "web"', async () => {
      expect(fs.lstatSync(lock).isSymbolicLink()).toBe(true);
      return JSON.parse(fs.readlinkSync(lock)) as unknown;
    });
    expect(seen).toEqual(identify(process.pid));
    expect(fs.lstatSync(lock, { throwIfNoEntry: false })).toBeUndefined();
  });

  it("a held one is live; a dead holder's is stale; an older barepod's lock file is read too", () => {
    const lock = path.join(dir, 'web');
    fs.symlinkSync(JSON.stringify(identify(process.pid)), lock);
    expect(inspectLock(lock)).toEqual({ owner: identify(process.pid), stale: false });
    fs.rmSync(lock);
    fs.symlinkSync(JSON.stringify({ pid: process.pid, startTime: '1' }), lock);
    expect(inspectLock(lock).stale).toBe(true);
    fs.rmSync(lock);
    fs.writeFileSync(lock, JSON.stringify(identify(process.pid)));
    expect(inspectLock(lock)).toEqual({ owner: identify(process.pid), stale: false });
  });

  it('an empty lock file (its maker out of space or killed before it wrote) does not block: stale after a moment', () => {
    const lock = path.join(dir, 'web');
    fs.writeFileSync(lock, '');
    expect(inspectLock(lock).stale).toBe(false);
    const old = new Date(Date.now() - 5000);
    fs.utimesSync(lock, old, old);
    expect(inspectLock(lock).stale).toBe(true);
  });
});

describe('pod records', () => {
  const record = (): PodRecord => ({
    version: 2,
    def: { ...POD_DEFAULTS, name: 'web', hostname: 'web', share: ['net'], limits: {} },
    createdAt: '2026-01-01T00:00:00.000Z',
    cgroupVersion: 1,
    sandbox: { id: 'web._pause', pid: 1, startTime: '1', namespaces: {}, startedAt: '2026-01-01T00:00:00.000Z' },
    containers: [],
    phase: 'Running',
  });

  it('an unchanged record is not written again (a command that changed nothing needs no space)', () => {
    const store = new StateStore(dir);
    fs.mkdirSync(path.join(dir, 'pods', 'web'), { recursive: true });
    store.write(record());
    const file = path.join(dir, 'pods', 'web', 'pod.json');
    const ino = fs.statSync(file).ino;
    store.write(record());
    expect(fs.statSync(file).ino).toBe(ino); // not replaced by a rename
    const changed = record();
    changed.sandboxRestarts = 1;
    store.write(changed);
    expect(fs.statSync(file).ino).not.toBe(ino);
    expect(store.read('web').sandboxRestarts).toBe(1);
  });

  it('the Removing marker file makes a pod Removing whatever its record says', () => {
    const store = new StateStore(dir);
    fs.mkdirSync(path.join(dir, 'pods', 'web'), { recursive: true });
    store.write(record());
    expect(store.read('web').phase).toBe('Running');
    fs.writeFileSync(path.join(dir, 'pods', 'web', 'removing'), '');
    expect(store.read('web').phase).toBe('Removing');
  });

  it('markRemoving writes the record when it can', () => {
    const store = new StateStore(dir);
    fs.mkdirSync(path.join(dir, 'pods', 'web'), { recursive: true });
    const rec = record();
    store.write(rec);
    expect(store.markRemoving(rec)).toBe('record');
    expect(fs.existsSync(path.join(dir, 'pods', 'web', 'removing'))).toBe(false);
    expect((JSON.parse(fs.readFileSync(path.join(dir, 'pods', 'web', 'pod.json'), 'utf8')) as PodRecord).phase).toBe('Removing');
  });
});

describe('records of an older barepod (version 1), converted on read', () => {
  const fixture = path.join(__dirname, '../fixtures/records');
  const plant = (rec: unknown, pod = 'oldpod') => {
    fs.mkdirSync(path.join(dir, 'pods', pod), { recursive: true });
    fs.writeFileSync(path.join(dir, 'pods', pod, 'pod.json'), JSON.stringify(rec));
    return new StateStore(dir).read(pod);
  };
  const v1 = () => JSON.parse(fs.readFileSync(path.join(fixture, 'v1-pod.json'), 'utf8')) as Record<string, unknown> & { def: Record<string, unknown> };

  it("a record written by the previous barepod reads as today's: kinds on volumes, network and containers", () => {
    const rec = plant(v1());
    expect(rec.version).toBe(2);
    expect(rec.def.volumes).toEqual([
      { kind: 'emptyDir', name: 'work', medium: '' },
      { kind: 'emptyDir', name: 'mem', medium: 'Memory', sizeLimitBytes: 8 << 20 },
      { kind: 'hostPath', name: 'host', path: '/srv/data', type: 'DirectoryOrCreate' },
    ]);
    expect(rec.def.network).toEqual({ kind: 'none' });
    expect(rec.containers.map((c) => c.def.kind)).toEqual(['init', 'sidecar', 'app']);
    for (const c of rec.containers) expect(Object.keys(c.def)).not.toEqual(expect.arrayContaining(['init']));
    expect(rec.containers.some((c) => 'sidecar' in c.def || 'init' in c.def)).toBe(false);
    // the rest of the record is as it was
    expect(rec.sandbox.pid).toBe((v1().sandbox as { pid: number }).pid);
    expect(rec.containers[0]!.exitCode).toBe(0);
  });

  it("the converted definition is the one today's parser makes from the same manifest", () => {
    const rec = plant(v1());
    const mp = parseResolved(fs.readFileSync(path.join(fixture, 'v1-pod.yaml'), 'utf8')).pods[0]!;
    expect(rec.def.volumes).toEqual(mp.pod.volumes);
    expect(rec.def.network).toEqual(mp.pod.network);
    expect(rec.containers.map((c) => c.def)).toEqual(mp.containers);
  });

  it.each<[unknown, unknown]>([
    [
      { name: 'barepod', ports: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '' }] },
      { kind: 'cni', name: 'barepod', ports: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '' }] },
    ],
    [
      { name: 'lab', ports: [] },
      { kind: 'cni', name: 'lab', ports: [] },
    ],
    [{ name: 'host', ports: [] }, { kind: 'host' }],
    [{ name: 'none', ports: [] }, { kind: 'none' }],
    [undefined, { kind: 'none' }], // a record from before networking
  ])('the version 1 network %j reads as %j', (network, want) => {
    const old = v1();
    if (network === undefined) delete old.def.network;
    else old.def.network = network;
    expect(plant(old).def.network).toEqual(want);
  });

  it("a record without a version (the oldest) is version 1; a newer barepod's is refused, naming the pod", () => {
    const old = v1();
    delete old.version;
    expect(plant(old).containers.map((c) => c.def.kind)).toEqual(['init', 'sidecar', 'app']);
    expect(() => plant({ ...v1(), version: 3 })).toThrow(
      'pod "oldpod": its record is unreadable: written by a newer barepod (record version 3; this one reads up to 2)',
    );
  });

  it("a converted record is written back in today's format", () => {
    const store = new StateStore(dir);
    const rec = plant(v1());
    store.write(rec);
    const raw = JSON.parse(fs.readFileSync(path.join(dir, 'pods', 'oldpod', 'pod.json'), 'utf8')) as PodRecord;
    expect(raw.version).toBe(2);
    expect(raw.def.volumes?.map((v) => v.kind)).toEqual(['emptyDir', 'emptyDir', 'hostPath']);
  });
});
