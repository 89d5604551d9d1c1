/**
 * barepod-prober (bundles/prober) against the config probeConfigText writes,
 * with no pod and no root: the "runc" it runs and the `_unhealthy` call are
 * small scripts that record their argv, the pod's pause and container are a
 * `sleep` of this test, the network namespace is left as it is. It checks
 * what the Node and C sides must agree on: every field escaped and read back
 * whole (tabs, newlines, backslashes in a command), the exec probe's runc
 * argv, thresholds, the kill call, a new launch starting afresh, the prober
 * ending when its config goes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { escapeField, probeConfigText } from '../../src/plan/probe-config.js';
import type { PodRecord, ProbeDefinition } from '../../src/model.js';

const BIN = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../bundles/prober/barepod-prober');

const startTime = (pid: number): string => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
};

async function until<T>(fn: () => T, what: string, ms = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const timing = { initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 5, successThreshold: 1 };

function record(pid: number, launchId: string, command: string[]): PodRecord {
  const proc = { pid, startTime: startTime(pid) };
  const liveness: ProbeDefinition = { ...timing, failureThreshold: 2, exec: { command } };
  const readiness: ProbeDefinition = { ...timing, failureThreshold: 1, exec: { command: ['true'] } };
  return {
    def: { name: 'pod', host: ['net'] },
    sandbox: proc,
    containers: [
      {
        def: { name: 'app', probes: { liveness, readiness } },
        id: 'pod.app',
        state: 'running',
        launchId,
        startedAt: new Date().toISOString(),
        process: proc,
      },
      // not running: not in the config
      { def: { name: 'gone', probes: { liveness } }, id: 'pod.gone', state: 'exited', launchId: 'x' },
    ],
  } as unknown as PodRecord;
}

describe('escapeField', () => {
  it('escapes the separators, line ends, backslashes and NUL', () => {
    expect(escapeField('a\tb\nc\rd\\e\0f')).toBe('a\\tb\\nc\\rd\\\\e\\0f');
  });
});

describe.skipIf(!fs.existsSync(BIN))('barepod-prober (no pod, no root)', () => {
  let dir: string;
  let sleeper: ChildProcess;
  let prober: ChildProcess | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-unit-prober-'));
    // the "runc": records its argv (NUL-separated) under the name of its last argument's first word, exits with ./code
    fs.writeFileSync(
      path.join(dir, 'runc'),
      `#!/bin/sh\nd=$(dirname "$0")\nprintf '%s\\0' "$@" > "$d/argv.$$.tmp" && mv "$d/argv.$$.tmp" "$d/argv.$5"\nexit $(cat "$d/code")\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(dir, 'unhealthy'), `#!/bin/sh\nprintf '%s\\0' "$@" >> "$(dirname "$0")/unhealthy.calls"\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'code'), '0\n');
    sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
  });
  afterEach(async () => {
    prober?.kill('SIGKILL');
    sleeper.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 50));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const write = (rec: PodRecord) => {
    const text = probeConfigText(rec, { runcBin: path.join(dir, 'runc'), runcRoot: '/state/runc', unhealthy: [path.join(dir, 'unhealthy'), 'a b', 'pod'] });
    fs.writeFileSync(path.join(dir, 'probes.conf.tmp'), text);
    fs.renameSync(path.join(dir, 'probes.conf.tmp'), path.join(dir, 'probes.conf'));
  };
  const status = () => {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, 'probes.json'), 'utf8')) as Record<
        string,
        { launchId: string; started: boolean; ready: boolean; message: string }
      >;
    } catch {
      return {};
    }
  };
  const argv = (word: string) => {
    const f = path.join(dir, `argv.${word}`);
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\0').slice(0, -1) : undefined;
  };

  it('runs the exec probe as runc --root ROOT exec ID CMD (fields whole), applies the thresholds, calls _unhealthy once per launch, ends with its config', async () => {
    const command = ['a\tb', 'c\nd', 'e\\f', 'tab\tand\\nnot-a-newline'];
    write(record(sleeper.pid!, 'L1', command));
    expect(fs.readFileSync(path.join(dir, 'probes.conf'), 'utf8')).not.toContain('gone');
    prober = spawn(BIN, [dir], { stdio: 'ignore' });
    await until(() => status().app?.ready, 'ready');
    expect(status().app).toEqual({ launchId: 'L1', started: true, ready: true, message: '' });
    expect(await until(() => argv('a\tb'), 'the liveness exec')).toEqual(['--root', '/state/runc', 'exec', 'pod.app', ...command]);
    expect(argv('true')).toEqual(['--root', '/state/runc', 'exec', 'pod.app', 'true']);
    // failing now: readiness (threshold 1) at once, liveness after 2 failures, and then the kill call, once
    fs.writeFileSync(path.join(dir, 'code'), '3\n');
    await until(() => fs.existsSync(path.join(dir, 'unhealthy.calls')), 'the _unhealthy call');
    expect(status().app?.ready).toBe(false);
    await new Promise((r) => setTimeout(r, 2500));
    const calls = fs.readFileSync(path.join(dir, 'unhealthy.calls'), 'utf8').split('\0').slice(0, -1);
    expect(calls).toEqual(['a b', 'pod', 'app', 'L1', `liveness probe failed 2 times: ${command.join(' ')} exited with 3`]);
    // a new launch of the container starts afresh (not killed, not ready, probed again)
    fs.writeFileSync(path.join(dir, 'code'), '0\n');
    write(record(sleeper.pid!, 'L2', ['true']));
    await until(() => status().app?.launchId === 'L2' && status().app?.ready, 'the new launch ready');
    // its config removed: the prober ends
    fs.rmSync(path.join(dir, 'probes.conf'));
    await until(() => prober!.exitCode === 0, 'the prober ended');
  }, 30_000);

  it('a prober the config does not name ends once it names a newer one (its starter was killed before recording it); an older one named is no reason', async () => {
    const rec = record(sleeper.pid!, 'L1', ['true']);
    // the config names an older process as the prober (this test's sleeper): no reason to end
    write({ ...rec, prober: { pid: sleeper.pid!, startTime: startTime(sleeper.pid!) } });
    prober = spawn(BIN, [dir], { stdio: 'ignore' });
    await until(() => status().app?.ready, 'ready');
    await new Promise((r) => setTimeout(r, 300));
    expect(prober.exitCode).toBeNull();
    // a newer prober recorded (a process started after it): it ends
    const newer = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      // started 300 ms and more after the prober: a later start time (in clock ticks)
      expect(Number(startTime(newer.pid!))).toBeGreaterThan(Number(startTime(prober.pid!)));
      write({ ...rec, prober: { pid: newer.pid!, startTime: startTime(newer.pid!) } });
      await until(() => prober!.exitCode === 0, 'the replaced prober ended');
    } finally {
      newer.kill('SIGKILL');
    }
  }, 15_000);

  it('ends when the pause is gone', async () => {
    write(record(sleeper.pid!, 'L1', ['true']));
    prober = spawn(BIN, [dir], { stdio: 'ignore' });
    await until(() => status().app?.ready, 'ready');
    sleeper.kill('SIGKILL');
    await until(() => prober!.exitCode === 0, 'the prober ended');
  }, 15_000);
});
