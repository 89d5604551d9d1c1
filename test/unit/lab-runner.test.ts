/**
 * The lab runner's steps run through barepod's one way to run a program:
 * output kept, a step's deadline kills the whole process group (its
 * background jobs too) and says so, and a failing command ends the lab.
 * Real `sh`, no pods: a lab of plain commands in a scratch state root.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Lab } from '../../src/labs/lab.js';
import { runLab } from '../../src/labs/runner.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true });
});

function labOf(run: Lab['steps'][number]['run'], claims: Lab['steps'][number]['claims'] = []): Lab {
  return { id: 99, page: 'none.md', title: 'runner test', seeds: [], summary: '', pods: [], steps: [{ title: 'the step', say: '', run, claims }] };
}

async function run(lab: Lab) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-labrunner-'));
  roots.push(root);
  return runLab(lab, { root, quiet: true, yes: true, print: () => undefined });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    return false;
  }
};

describe('lab runner', () => {
  it('a step past its deadline is killed with its background jobs, and the lab says so', async () => {
    const pidFile = path.join(os.tmpdir(), `bp-labrunner-bg-${process.pid}`);
    const o = await run(labOf([{ cmd: `sleep 300 & echo $! > ${pidFile}; echo started; sleep 300`, timeoutSeconds: 1 }]));
    const bg = Number(fs.readFileSync(pidFile, 'utf8'));
    fs.rmSync(pidFile);
    expect(o.error).toMatch(/exited 128: .*killed after 1s/);
    expect(alive(bg), `the step's background sleep (pid ${bg})`).toBe(false);
  });

  it("keeps a command's output for the claims, and a failing command ends the lab", async () => {
    let seen = '';
    const ok = await run(
      labOf(
        [{ cmd: 'echo out; echo err >&2' }],
        [
          {
            says: 'the runner ran sh',
            holds: async (ctx): Promise<true> => {
              const r = await ctx.sh('echo $((6 * 7)); exit 3');
              seen = `${r.code} ${r.stdout.trim()}`;
              return true;
            },
          },
        ],
      ),
    );
    expect(ok.error).toBeUndefined();
    expect(seen).toBe('3 42');
    const failed = await run(labOf([{ cmd: 'echo why >&2; exit 5' }]));
    expect(failed.error).toBe('step 1 (the step): `echo why >&2; exit 5` exited 5: why');
  });
});
