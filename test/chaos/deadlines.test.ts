/**
 * No program barepod runs may hold a pod's lock forever (issue 13, item 6).
 * A `runc` wrapper (BAREPOD_RUNC) hangs in one subcommand; with a short
 * BAREPOD_TIMEOUT_RUNC the command must fail naming runc and its argv, release
 * the pod's lock (the next command on the pod works at once) and leave no hung
 * process behind.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, type Result, skipReason, useTestEnv } from '../helpers/harness.js';

const alive = (pid: number): boolean => {
  try {
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
};

/** Runs the CLI, killing it after `boundMs` (a bound on waiting, not an assertion: a hung CLI fails the test instead of hanging it). */
function bounded(args: string[], env: NodeJS.ProcessEnv, boundMs: number): Promise<Result & { killed: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(CLI, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, boundMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 137, stdout, stderr, killed });
    });
  });
}

describe.skipIf(skipReason)('deadlines on the programs barepod runs', () => {
  const t = useTestEnv();

  it('a hung `runc start` is killed after BAREPOD_TIMEOUT_RUNC: the error names it, the lock is free, no process is left', async () => {
    const pod = t.pod('hang');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    const realRunc = ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc', '/usr/local/bin/runc'].find((p) => fs.existsSync(p))!;
    const wrapper = path.join(t.root, 'runc-hangs-on-start');
    const pidFile = path.join(t.root, 'hung.pid');
    // every runc call passes through but `start` of the app, which hangs (the pid it hangs in is kept)
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh
for a in "$@"; do
  if [ "$a" = start ]; then
    case " $* " in *" ${pod}.app "*) echo $$ > ${pidFile}; exec sleep 100000;; esac
  fi
done
exec ${realRunc} "$@"
`,
      { mode: 0o755 },
    );
    const env = { ...t.env, BAREPOD_RUNC: wrapper, BAREPOD_TIMEOUT_RUNC: '2s' };
    const r = await bounded(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600'], env, 60_000);
    const hung = Number(fs.readFileSync(pidFile, 'utf8').trim());
    try {
      expect(r.killed, 'barepod run still waiting on the hung runc').toBe(false);
      expect(r.code).not.toBe(0);
      // the program and its argv, and the deadline
      expect(r.stderr).toContain(`runc-hangs-on-start --root ${path.join(t.root, 'runc')} start ${pod}.app: no answer after 2s`);
      expect(r.stderr).toContain('BAREPOD_TIMEOUT_RUNC');
      // the hung process is gone
      expect(alive(hung), `hung runc (pid ${hung}) still alive`).toBe(false);
      // the pod's lock is free: a command that takes it works right away (no "busy" wait)
      const next = await bounded(['run', '--pod', pod, '--name', 'second', '--', 'sleep', '3600'], t.env, 60_000);
      expect(next.stderr).not.toMatch(/busy|locked/i);
      expect(next.code, next.stderr).toBe(0);
      // and the half-made app was rolled back
      const ps = JSON.parse(await t.ok(['ps', pod, '--json'])) as { pods: { containers: { container: string; state: string }[] }[] };
      expect(ps.pods[0]!.containers.map((c) => c.container)).toEqual(['_pause', 'second']);
      await t.ok(['pod', 'rm', '-f', pod]);
    } finally {
      if (alive(hung)) process.kill(hung, 'SIGKILL');
    }
  });

  it('a hung `runc create` under conmon is killed after BAREPOD_TIMEOUT_CONMON, conmon with it', async () => {
    const pod = t.pod('hangc');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    const realRunc = ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc', '/usr/local/bin/runc'].find((p) => fs.existsSync(p))!;
    const wrapper = path.join(t.root, 'runc-hangs-on-create');
    const pidFile = path.join(t.root, 'hung.pid');
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh
for a in "$@"; do
  if [ "$a" = create ]; then
    case " $* " in *" ${pod}.app "*) echo "$$ $PPID" > ${pidFile}; exec sleep 100000;; esac
  fi
done
exec ${realRunc} "$@"
`,
      { mode: 0o755 },
    );
    const r = await bounded(
      ['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600'],
      { ...t.env, BAREPOD_RUNC: wrapper, BAREPOD_TIMEOUT_CONMON: '2s' },
      60_000,
    );
    // the hung runc create and its parent, conmon's monitor half
    const [hung, conmonPid] = fs.readFileSync(pidFile, 'utf8').trim().split(' ').map(Number) as [number, number];
    try {
      expect(r.killed, 'barepod run still waiting on conmon').toBe(false);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(
        `conmon -c ${pod}.app (running runc-hangs-on-create create --bundle ${path.join(t.root, 'pods', pod, 'containers', 'app')} ${pod}.app): no answer after 2s`,
      );
      expect(alive(hung), 'the hung runc create').toBe(false);
      expect(alive(conmonPid), 'its conmon').toBe(false);
      // the lock is free
      const next = await bounded(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600'], t.env, 60_000);
      expect(next.code, next.stderr).toBe(0);
      await t.ok(['pod', 'rm', '-f', pod]);
    } finally {
      for (const p of [hung, conmonPid]) if (alive(p)) process.kill(p, 'SIGKILL');
    }
  });

  it('a hung CNI plugin is killed after BAREPOD_TIMEOUT_CNI and the pod is not left half-made', async () => {
    const pod = t.pod('cnihang');
    const dir = path.join(t.root, 'cni-bin');
    fs.mkdirSync(dir);
    const pidFile = path.join(t.root, 'plugin.pid');
    // a plugin dir where `bridge` hangs on ADD, every other plugin is the real one
    const real = ['/opt/cni/bin', '/usr/lib/cni'].find((d) => fs.existsSync(path.join(d, 'bridge')))!;
    for (const f of fs.readdirSync(real)) fs.symlinkSync(path.join(real, f), path.join(dir, f));
    fs.rmSync(path.join(dir, 'bridge'));
    fs.writeFileSync(
      path.join(dir, 'bridge'),
      `#!/bin/sh\nif [ "$CNI_COMMAND" = ADD ]; then echo $$ > ${pidFile}; exec sleep 100000; fi\nexec ${real}/bridge "$@"\n`,
      { mode: 0o755 },
    );
    const env = { ...t.env, CNI_PATH: dir, BAREPOD_CNI_PATH: dir, BAREPOD_TIMEOUT_CNI: '2s' };
    const r = await bounded(['pod', 'create', pod], env, 60_000);
    const hung = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').trim()) : undefined;
    try {
      expect(hung, `the fake bridge plugin was not used: ${r.stderr}`).toBeDefined();
      expect(r.killed, 'barepod pod create still waiting on the hung plugin').toBe(false);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/CNI plugin bridge \(CNI_COMMAND=ADD CNI_CONTAINERID=[^)]+\): no answer after 2s/);
      expect(alive(hung!)).toBe(false);
      // nothing of the pod is left (the leak check after the test looks at the rest)
      expect((await t.bp(['ps', pod])).code).not.toBe(0);
    } finally {
      if (hung && alive(hung)) process.kill(hung, 'SIGKILL');
    }
  });
});
