/**
 * The pod lock's two ways in: withPodLock waits (then says busy), and
 * tryWithPodLock (gc's) runs nothing while a live command holds the lock
 * and says who does; both take over a lock whose holder is dead.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { identify } from '../../src/runtime/procfs.js';
import { inspectLock, tryWithPodLock, withPodLock } from '../../src/runtime/state.js';

describe('pod lock', () => {
  let dir = '';
  let lock = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-lock-'));
    lock = path.join(dir, 'locks', 'web');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** a lock file as withPodLock writes it, held by `owner` */
  const hold = (owner: object) => {
    fs.mkdirSync(path.dirname(lock), { recursive: true });
    fs.writeFileSync(lock, JSON.stringify(owner));
  };

  it('tryWithPodLock runs the work under the lock when it is free, and frees it after', async () => {
    const r = await tryWithPodLock(lock, async () => {
      expect(inspectLock(lock).owner).toEqual(identify(process.pid));
      return 7;
    });
    expect(r).toEqual({ ran: true, value: 7 });
    expect(fs.existsSync(lock)).toBe(false);
  });

  it('tryWithPodLock runs nothing while a live process holds the lock, names it, and leaves its lock alone', async () => {
    const me = identify(process.pid)!;
    hold(me);
    let ran = false;
    const r = await tryWithPodLock(
      lock,
      async () => {
        ran = true;
      },
      50,
    );
    expect(ran).toBe(false);
    expect(r).toEqual({ ran: false, owner: me });
    expect(JSON.parse(fs.readFileSync(lock, 'utf8'))).toEqual(me);
  });

  it('a lock whose holder is dead is taken over by both', async () => {
    const child = spawnSync('true');
    const dead = { pid: child.pid, startTime: '1' };
    hold(dead);
    expect(await tryWithPodLock(lock, async () => 'mine')).toEqual({ ran: true, value: 'mine' });
    hold(dead);
    expect(await withPodLock(lock, 'web', async () => 'mine too')).toBe('mine too');
  });

  it('withPodLock still waits for a live holder, then says busy naming it', async () => {
    hold(identify(process.pid)!);
    await expect(withPodLock(lock, 'web', async () => 'never', 100)).rejects.toThrow(
      `pod "web" is busy: another barepod command (pid ${process.pid}) holds its lock`,
    );
  });
});
