/**
 * The process primitive's deadline (issue 13, item 6): per-program defaults,
 * overrides from the environment, and a program that hangs is killed (its
 * whole process group when detached) with an error naming it and its argv.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeadlineError } from '../../src/errors.js';
import { DEFAULT_TIMEOUT_SECONDS, FALLBACK_TIMEOUT_SECONDS, launch, programKey, runTool, timeoutFor } from '../../src/runtime/exec.js';

const alive = (pid: number): boolean => {
  try {
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
};

describe('program deadlines', () => {
  it('has a default per program, a fallback for the rest', () => {
    expect(timeoutFor('runc', {})).toBe(60_000);
    expect(timeoutFor('cni', {})).toBe(60_000);
    expect(timeoutFor('iptables', {})).toBe(30_000);
    expect(timeoutFor('skopeo', {})).toBe(30 * 60_000);
    expect(timeoutFor('something-else', {})).toBe(FALLBACK_TIMEOUT_SECONDS * 1000);
    expect(Object.keys(DEFAULT_TIMEOUT_SECONDS)).toEqual(expect.arrayContaining(['runc', 'conmon', 'cni', 'iptables', 'skopeo', 'zstd', 'mount', 'umount']));
  });

  it('takes BAREPOD_TIMEOUT_<PROG> first, then BAREPOD_TIMEOUT; 0 means none', () => {
    expect(timeoutFor('runc', { BAREPOD_TIMEOUT_RUNC: '2s', BAREPOD_TIMEOUT: '5m' })).toBe(2000);
    expect(timeoutFor('runc', { BAREPOD_TIMEOUT: '5m' })).toBe(300_000);
    expect(timeoutFor('some-tool', { BAREPOD_TIMEOUT_SOME_TOOL: '1500ms' })).toBe(1500);
    expect(timeoutFor('cni', { BAREPOD_TIMEOUT_CNI: '0' })).toBe(0);
    expect(() => timeoutFor('runc', { BAREPOD_TIMEOUT_RUNC: 'soon' })).toThrow(/BAREPOD_TIMEOUT_RUNC "soon": not a duration/);
  });

  it('keys a program by its file name (the iptables family counts as iptables)', () => {
    expect(programKey('/usr/sbin/runc')).toBe('runc');
    expect(programKey('/usr/sbin/ip6tables')).toBe('iptables');
    expect(programKey('iptables-nft')).toBe('iptables');
    expect(programKey('/usr/sbin/iptables-save')).toBe('iptables');
    expect(programKey('ip6tables-legacy-restore')).toBe('iptables');
    expect(programKey('/usr/sbin/iptables-wrapper')).toBe('iptables-wrapper');
  });

  it('kills a hung program and its process group, naming the program and its argv', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-deadline-'));
    const pids = path.join(dir, 'pids');
    try {
      // a "program" that starts a child and hangs: both must go
      const script = path.join(dir, 'hang');
      fs.writeFileSync(script, `#!/bin/sh\nsleep 1000 &\necho "$$ $!" > ${pids}\nwait\n`, { mode: 0o755 });
      const err = await runTool([script, 'delete', 'pod.x'], { timeoutMs: 300 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeadlineError);
      expect((err as DeadlineError).code).toBe('timeout');
      expect((err as DeadlineError).message).toBe('hang delete pod.x: no answer after 300ms (killed)');
      expect((err as DeadlineError).argv).toEqual([script, 'delete', 'pod.x']);
      const [shell, sleeper] = fs.readFileSync(pids, 'utf8').trim().split(' ').map(Number);
      for (let i = 0; i < 100 && (alive(shell!) || alive(sleeper!)); i++) await new Promise((r) => setTimeout(r, 10));
      expect(alive(shell!)).toBe(false);
      expect(alive(sleeper!)).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a released program lives on, its deadline gone', async () => {
    const run = launch(['sleep', '0.5'], { stdio: 'ignore', timeoutMs: 100 });
    run.release();
    const exit = await run.exited;
    expect(exit.code).toBe(0);
  });

  it('a program that finishes in time gives its output', async () => {
    await expect(runTool(['sh', '-c', 'echo hi'], { timeoutMs: 5000 })).resolves.toBe('hi');
    await expect(runTool(['/nonexistent/tool'])).rejects.toMatchObject({ code: 'missing-tool' });
  });
});
