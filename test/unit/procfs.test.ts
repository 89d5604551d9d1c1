import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CALLER_VAR,
  callerMarkOf,
  endProgramsOf,
  identify,
  isAlive,
  isStopped,
  parseProcStatus,
  readProcStatus,
  readStartTime,
  selfIdentity,
  withProcessSnapshot,
} from '../../src/runtime/procfs.js';

const STATUS = `Name:\tsleep
Umask:\t0022
State:\tS (sleeping)
Tgid:\t12717
Ngid:\t0
Pid:\t12717
PPid:\t12707
TracerPid:\t0
Uid:\t1000\t1000\t1000\t1000
Gid:\t0\t0\t0\t0
NStgid:\t12717\t11
NSpid:\t12717\t11
NSpgid:\t12707\t6
VmRSS:\t    1376 kB
RssAnon:\t      48 kB
`;

describe('parseProcStatus', () => {
  it('state letter, ppid, real uid, RSS in bytes, and the pid in each pid namespace', () => {
    expect(parseProcStatus(STATUS)).toEqual({ state: 'S', ppid: 12707, uid: 1000, rssBytes: 1376 * 1024, nspid: [12717, 11] });
  });

  it('a zombie has no VmRSS: 0; a kernel without NSpid: the Pid line', () => {
    const zombie = STATUS.replace('State:\tS (sleeping)', 'State:\tZ (zombie)')
      .replace(/^VmRSS:.*\n/m, '')
      .replace(/^NSpid:.*\n/m, '');
    expect(parseProcStatus(zombie)).toEqual({ state: 'Z', ppid: 12707, uid: 1000, rssBytes: 0, nspid: [12717] });
  });

  it('undefined for text that is not a status file', () => {
    expect(parseProcStatus('')).toBeUndefined();
    expect(parseProcStatus('State:\tS (sleeping)\n')).toBeUndefined();
  });

  it('reads this process, and nothing for a pid that does not exist', () => {
    const me = readProcStatus(process.pid);
    expect(me?.nspid.at(0)).toBe(process.pid);
    expect(me?.ppid).toBe(process.ppid);
    expect(readProcStatus(2 ** 30)).toBeUndefined();
  });
});

describe('endProgramsOf: the programs a dead command left running', () => {
  // a made-up dead holder: the mark is all that ties a program to it
  const dead = { pid: 999_999_999, startTime: `${process.pid}${Date.now()}` };
  const spawnMarked = (script: string) =>
    spawn('sh', ['-c', script], { env: { ...process.env, [CALLER_VAR]: callerMarkOf(dead) }, detached: true, stdio: 'ignore' });

  it('waits for one that finishes within the grace (a runc delete is never cut half-way), and kills one that does not', async () => {
    const done = path.join(os.tmpdir(), `bp-orphan-done-${process.pid}`);
    fs.rmSync(done, { force: true });
    const quick = spawnMarked(`sleep 0.3; : > ${done}`);
    const hung = spawnMarked('sleep 300 & wait');
    const r = await endProgramsOf(dead, 1500);
    expect(fs.existsSync(done), 'the quick one finished its work').toBe(true);
    fs.rmSync(done, { force: true });
    expect(r.finished).toContain(quick.pid);
    expect(r.killed).toContain(hung.pid);
    const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
    expect(alive(hung.pid!), 'the hung sh').toBe(false);
    expect((await endProgramsOf(dead, 0)).killed, 'nothing of it is left, its sleep child included').toEqual([]);
  });

  it('leaves alone what carries another mark or none', async () => {
    const other = spawn('sleep', ['300'], {
      env: { ...process.env, [CALLER_VAR]: callerMarkOf({ ...dead, startTime: 'other' }) },
      detached: true,
      stdio: 'ignore',
    });
    try {
      const r = await endProgramsOf(dead, 0);
      expect(r.killed).not.toContain(other.pid);
      expect(fs.existsSync(`/proc/${other.pid}`)).toBe(true);
    } finally {
      other.kill('SIGKILL');
    }
  });
});

describe('withProcessSnapshot', () => {
  afterEach(() => vi.restoreAllMocks());
  const statReads = (spy: { mock: { calls: unknown[][] } }) => spy.mock.calls.filter(([p]) => /^\/proc\/\d+\/stat$/.test(String(p))).length;

  it("reads a process's /proc/<pid>/stat once however often it is asked about, and fresh again after", async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const id = identify(child.pid!)!;
      const spy = vi.spyOn(fs, 'readFileSync');
      const seen = withProcessSnapshot(() => [isAlive(id), isStopped(id), isAlive(id), readStartTime(child.pid!) === id.startTime, isAlive(id)]);
      expect(seen).toEqual([true, false, true, true, true]);
      expect(statReads(spy)).toBe(1);
      spy.mockClear();
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      expect(isAlive(id)).toBe(false); // outside a snapshot: what /proc says now
      expect(withProcessSnapshot(() => [isAlive(id), isAlive(id)])).toEqual([false, false]);
      expect(statReads(spy)).toBe(2);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a snapshot inside another shares it, and the outer one ends with its function, even on a throw', () => {
    const id = identify(process.pid)!;
    expect(() =>
      withProcessSnapshot(() => {
        expect(withProcessSnapshot(() => isAlive(id))).toBe(true);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    const spy = vi.spyOn(fs, 'readFileSync');
    expect([isAlive(id), isAlive(id)]).toEqual([true, true]);
    expect(statReads(spy)).toBe(2); // no snapshot left behind: each asks /proc again
  });
});

describe('selfIdentity', () => {
  afterEach(() => vi.restoreAllMocks());

  it("is this process's pid and start time, read from /proc once however often a lock asks", () => {
    expect(selfIdentity()).toEqual(identify(process.pid));
    const spy = vi.spyOn(fs, 'readFileSync');
    for (let i = 0; i < 50; i++) expect(selfIdentity()).toEqual({ pid: process.pid, startTime: readStartTime(process.pid) });
    expect(spy.mock.calls.filter(([p]) => String(p) === `/proc/${process.pid}/stat`).length).toBe(50); // readStartTime's own reads only
  });
});
