/**
 * The pause binary itself (SCENARIOS S3), run directly: version, the
 * not-PID-1 warning, SIGTERM/SIGINT exit 0 with a message, reaping.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, run } from '../helpers/harness.js';

const PAUSE = path.join(REPO, 'bundles', 'pause', 'pause');

function startPause(): Promise<{ pid: number; stderr: () => string; exit: Promise<{ code: number | null; signal: string | null }> }> {
  const child = spawn(PAUSE, [], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve) => {
    // it has installed its handlers once it has written the warning and is sleeping
    const poll = setInterval(() => {
      if (err.includes('not PID 1') && /^State:\s+S/m.test(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))) {
        clearInterval(poll);
        resolve({ pid: child.pid!, stderr: () => err, exit });
      }
    }, 10);
  });
}

describe.skipIf(!fs.existsSync(PAUSE) && 'pause is not built (run scripts/setup)')('pause', () => {
  it('prints its version for -v and is a static binary', async () => {
    const r = await run(PAUSE, ['-v']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^barepod pause \d+\.\d+\.\d+\n$/);
    const file = await run('sh', ['-c', `LC_ALL=C readelf -d ${PAUSE} 2>&1 | grep -c NEEDED || true`]);
    expect(file.stdout.trim()).toBe('0');
  });

  it.each([['SIGTERM'], ['SIGINT']] as const)('warns when not PID 1, and exits 0 with a message on %s', async (sig) => {
    const p = await startPause();
    expect(p.stderr()).toMatch(/warning: not PID 1/);
    process.kill(p.pid, sig);
    expect(await p.exit).toEqual({ code: 0, signal: null });
    expect(p.stderr()).toContain(`got ${sig}, shutting down`);
  });

  it('a SIGCHLD with no child to reap does not end it', async () => {
    const p = await startPause();
    process.kill(p.pid, 'SIGCHLD');
    await new Promise((r) => setTimeout(r, 100));
    expect(fs.existsSync(`/proc/${p.pid}`)).toBe(true);
    process.kill(p.pid, 'SIGTERM');
    expect((await p.exit).code).toBe(0);
  });
});
