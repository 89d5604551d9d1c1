/**
 * The state root's files on a full disk: the pod lock is one symlink (never
 * torn, no data block), an older barepod's lock file is still understood, a
 * record that did not change is not written again, and a removal that cannot
 * write the record marks the pod with an empty file.
 */
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

  it('a held one is live; a dead holder\'s is stale; an older barepod\'s lock file is read too', () => {
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
    version: 1,
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
