/**
 * Chaos: `pod rm` racing another `pod rm` of the same pod. The loser (it
 * found the pod, then waited for the lock while the winner removed it) says
 * "already removed" with exit 0, with or without -f: what it was asked for is
 * done. A pod that was not there when the command began is an error (exit 3),
 * as `podman pod rm` exits 1 for it, unless --ignore (-i), as podman's.
 *
 * Deterministic: the winner is held inside its first runc call (a gated runc)
 * while it holds the pod's lock; the loser's --explain says when it waits for
 * that lock; only then is the gate opened.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, eventually, skipReason, useTestEnv } from '../helpers/harness.js';
import { background, runcGate } from '../helpers/chaos.js';

describe.skipIf(skipReason)('chaos: pod rm racing pod rm', () => {
  const t = useTestEnv();

  for (const force of [true, false]) {
    it(`the loser of two pod rm${force ? ' -f' : ''} says already removed, exit 0; nothing leaks`, async () => {
      const pod = t.pod(force ? 'rrf' : 'rr');
      await t.ok(['pod', 'create', pod]);
      await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
      const flags = force ? ['-f'] : ['-t', '1'];

      const gate = runcGate(t);
      const winner = background(t, ['pod', 'rm', ...flags, pod], gate.env);
      await gate.reached();
      // the loser: it sees the pod, then waits for the lock the winner holds
      const loser = spawn(CLI, ['pod', 'rm', ...flags, pod, '--explain'], { env: t.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      loser.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      loser.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      const loserCode = new Promise<number | null>((resolve) => loser.once('close', resolve));
      try {
        await eventually(() => err.includes('is held by another barepod command'), 30_000, 'the second pod rm to wait for the lock');
      } finally {
        gate.open(); // even when the wait failed: the winner must not stay held
      }

      const w = await winner.result;
      expect(w.code, w.stderr).toBe(0);
      expect(w.stdout).toBe(`pod/${pod} removed\n`);
      expect(await loserCode, err).toBe(0);
      expect(out).toBe(`pod/${pod} already removed (by another command)\n`);
      expect(t.leaks()).toEqual([]);
    });
  }

  it('a pod that was never there: exit 3 (not found), unless --ignore', async () => {
    const pod = t.pod('none');
    const r = await t.bp(['pod', 'rm', '-f', pod]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`pod "${pod}" not found`);
    expect(await t.ok(['pod', 'rm', '-f', '--ignore', pod])).toBe(`pod/${pod} not found (ignored)\n`);
    expect(await t.ok(['pod', 'rm', '-i', pod])).toBe(`pod/${pod} not found (ignored)\n`);
  });
});
