/**
 * The pod lock's two ways in: withPodLock waits (then says busy), and
 * tryWithPodLock (gc's) runs nothing while a live command holds the lock
 * and says who does; both take over a lock whose holder is dead.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CALLER_VAR, callerMarkOf, identify } from '../../src/runtime/procfs.js';
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

  describe('taking over from a dead holder whose programs still run (it waits for them first)', () => {
    const dead = { pid: 999_999_998, startTime: `${process.pid}${Date.now()}` };
    const orphan = (seconds: number) =>
      spawn('sleep', [String(seconds)], { env: { ...process.env, [CALLER_VAR]: callerMarkOf(dead) }, detached: true, stdio: 'ignore' });
    const later = (ms: number, fn: () => void) => new Promise<void>((r) => setTimeout(() => (fn(), r()), ms));

    it('never removes the lock of a live command that took it over meanwhile (an exit handler that won the race)', async () => {
      hold(dead);
      const prog = orphan(0.6);
      const live = spawn('sleep', ['30'], { stdio: 'ignore' });
      const other = identify(live.pid!)!;
      try {
        let ran = false;
        const attempt = tryWithPodLock(lock, async () => {
          ran = true;
        });
        // while the taker waits for the dead holder's program, another command takes the lock over
        await later(200, () => hold(other));
        const r = await attempt;
        expect(ran, 'two holders at once').toBe(false);
        expect(r).toEqual({ ran: false, owner: other });
        expect(JSON.parse(fs.readFileSync(lock, 'utf8')), "the other command's lock").toEqual(other);
      } finally {
        live.kill('SIGKILL');
        prog.kill('SIGKILL');
      }
    });

    it('the wait for the programs does not eat the time given to wait for a live holder', async () => {
      hold(dead);
      const prog = orphan(0.6);
      const live = spawn('sleep', ['30'], { stdio: 'ignore' });
      const other = identify(live.pid!)!;
      try {
        const attempt = tryWithPodLock(lock, async () => 'mine', 700);
        // another command takes the lock while the programs run, and holds it for a short round after they end
        await later(200, () => hold(other));
        await later(900, () => fs.rmSync(lock, { force: true }));
        expect(await attempt).toEqual({ ran: true, value: 'mine' });
      } finally {
        live.kill('SIGKILL');
        prog.kill('SIGKILL');
      }
    });
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
