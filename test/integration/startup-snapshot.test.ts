/**
 * The start-up snapshots (dist/barepod.blob, dist/handler.blob: scripts/bundle.mjs) on the real CLI: bin/barepod
 * starts from the blob when it fits the Node on PATH, and from the plain bundle when it does not; what the
 * environment says is read at every call, never frozen into the blob at build time; conmon's exit command starts
 * the handler from its blob and restarts a killed container.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, eventually, REPO, run, skipReason, useTestEnv } from '../helpers/harness.js';
import { isAlive } from '../../src/runtime/procfs.js';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}
const startupCheck = async (cli: string, env: NodeJS.ProcessEnv): Promise<Check> => {
  const r = await run(cli, ['doctor', '--json'], env);
  return (JSON.parse(r.stdout) as Check[]).find((c) => c.name === 'start-up')!;
};

/** A copy of the built CLI (the launcher and dist/, times kept), whose blob a test may then spoil; the caller removes it. */
function copyOfCheckout(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-it-snap-'));
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.copyFileSync(CLI, path.join(dir, 'bin', 'barepod'));
  fs.chmodSync(path.join(dir, 'bin', 'barepod'), 0o755);
  fs.cpSync(path.join(REPO, 'dist'), path.join(dir, 'dist'), { recursive: true, preserveTimestamps: true });
  return dir;
}

describe.skipIf(skipReason)('the start-up snapshot', () => {
  const t = useTestEnv();

  it('is built by npm run build for this Node, and bin/barepod starts from it', async () => {
    for (const blob of ['barepod.blob', 'core.blob', 'handler.blob']) {
      const st = fs.statSync(path.join(REPO, 'dist', blob));
      expect(st.mtimeMs, blob).toBe(fs.statSync(process.execPath).mtimeMs);
    }
    const check = await startupCheck(CLI, t.env);
    expect(check).toMatchObject({ ok: true, detail: expect.stringContaining('this call started from the snapshot') });
    // and off when asked
    expect((await startupCheck(CLI, { ...t.env, BAREPOD_NO_SNAPSHOT: '1' })).detail).toMatch(/snapshot off/);
  });

  it("keeps nothing of the builder's environment: a blob anyone can read holds no value of it", () => {
    // the blobs are world-readable (as the bundle is): whoever ran npm run build must not leave a token there
    const canary = `zq${Math.random().toString(36).slice(2)}canary`;
    for (const name of ['barepod', 'core', 'handler']) {
      const blob = path.join(t.root, `${name}.blob`);
      execFileSync(process.execPath, ['--snapshot-blob', blob, '--build-snapshot', path.join(REPO, 'dist', 'snapshot', `${name}.cjs`)], {
        env: { ...process.env, BAREPOD_TEST_TOKEN: canary, NODE_OPTIONS: '' },
        stdio: 'ignore',
      });
      const bytes = fs.readFileSync(blob);
      expect(bytes.length, name).toBeGreaterThan(1_000_000);
      expect(bytes.includes(canary), name).toBe(false);
      expect(bytes.includes('BAREPOD_TEST_TOKEN'), name).toBe(false);
      fs.rmSync(blob);
    }
  });

  it('starts the everyday commands from dist/core.blob and every other call from dist/barepod.blob, with the same output', async () => {
    const blobOf = async (args: string[]) => {
      const r = await run(CLI, args, { ...t.env, BAREPOD_TRACE: '1' });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      return /node up [\d.]+s \(from the start-up snapshot (\S+)\)/.exec(r.stderr)?.[1];
    };
    const dist = path.join(REPO, 'dist');
    for (const args of [['ps'], ['pod', 'ls'], ['--version'], ['logs', '--help'], ['--root', t.root, 'inspect', '--help']])
      expect(await blobOf(args), args.join(' ')).toBe(path.join(dist, 'core.blob'));
    for (const args of [
      ['network', 'ls'],
      ['gc', '--help'],
      ['help', 'ps'],
      ['up', '--help'],
    ])
      expect(await blobOf(args), args.join(' ')).toBe(path.join(dist, 'barepod.blob'));
    // a core command's output is the same from either blob and from the plain bundle
    const pod = t.pod('core');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    const fromCore = await t.ok(['pod', 'ls', '--json']);
    expect(JSON.parse(fromCore)).toEqual([expect.objectContaining({ name: pod })]);
    expect(await t.ok(['pod', 'ls', '--json'], { BAREPOD_NO_SNAPSHOT: '1' })).toBe(fromCore);
    expect((await run(CLI, ['pod', '--help'], t.env)).stdout).toBe((await run(CLI, ['pod', '--help'], { ...t.env, BAREPOD_NO_SNAPSHOT: '1' })).stdout);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('is found when bin/barepod is run by a relative path too', () => {
    const out = execFileSync('bin/barepod', ['doctor', '--json'], { cwd: REPO, env: t.env, encoding: 'utf8' });
    const check = (JSON.parse(out) as Check[]).find((c) => c.name === 'start-up')!;
    expect(check.detail).toBe(`this call started from the snapshot ${path.join(REPO, 'dist', 'barepod.blob')}`);
  });

  it('reads the environment at each call, not at build time: BAREPOD_TRACE, BAREPOD_ROOT', async () => {
    const pod = t.pod('env');
    const traced = await t.bp(['pod', 'create', pod, '--network', 'none'], { BAREPOD_TRACE: '1' });
    expect(traced.code).toBe(0);
    // the trace of the programs it ran (runc, conmon) is on stderr: the variable was read by this process
    expect(traced.stderr).toMatch(/\[trace \d+ [\d.]+ms \+[\d.]+ms\] .*runc/);
    // its "ms since start" is this process's, not the build's: the first line is within this call's lifetime
    const first = Number(/\[trace \d+ ([\d.]+)ms/.exec(traced.stderr)![1]);
    expect(first).toBeLessThan(60_000);
    const listed = await t.ok(['pod', 'ls', '--json']);
    expect(listed).toContain(pod);
    // another state root, given by the environment alone, sees no pod
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-it-other-'));
    try {
      const r = await run(CLI, ['pod', 'ls', '--json'], { ...t.env, BAREPOD_ROOT: other });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([]);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('is not used when it was built by another Node: the plain bundle runs, and doctor says how to rebuild', async () => {
    const dir = copyOfCheckout();
    try {
      // another Node's blob: here, one whose mtime is not this Node's (a real one would make Node exit 14 at start)
      const blob = path.join(dir, 'dist', 'barepod.blob');
      fs.writeFileSync(blob, 'not a snapshot of this Node');
      const cli = path.join(dir, 'bin', 'barepod');
      const check = await startupCheck(cli, t.env);
      expect(check.ok).toBe(false);
      expect(check.detail).toMatch(/built by another Node/);
      expect(check.fix).toMatch(/npm run build/);
      expect(await run(cli, ['--version'], t.env)).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('dist/core.blob of another Node is not used either: the everyday commands run the plain bundle, and doctor names it', async () => {
    const dir = copyOfCheckout();
    try {
      const blob = path.join(dir, 'dist', 'core.blob');
      fs.writeFileSync(blob, 'not a snapshot of this Node');
      const cli = path.join(dir, 'bin', 'barepod');
      const r = await run(cli, ['pod', 'ls', '--json'], { ...t.env, BAREPOD_TRACE: '1' });
      expect(r).toMatchObject({ code: 0, stdout: '[]\n' });
      expect(r.stderr).toMatch(/barepod pod: node up [\d.]+s\n/);
      const check = await startupCheck(cli, t.env);
      expect(check.ok).toBe(false);
      expect(check.detail).toBe(
        `the start-up snapshot ${blob} was built by another Node than ${process.execPath}: not used, the calls it serves start ~25-50 ms slower`,
      );
      expect(check.fix).toMatch(/npm run build/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("is not used where this machine's Node cannot load it (built on another CPU): tried once a boot, then the plain bundle", async () => {
    const dir = copyOfCheckout();
    try {
      // a blob with this Node's mtime that Node refuses (as a QEMU guest's Node refused one built on its host)
      const blob = path.join(dir, 'dist', 'core.blob');
      fs.writeFileSync(blob, 'not a snapshot V8 loads here');
      fs.utimesSync(blob, fs.statSync(process.execPath).atime, fs.statSync(process.execPath).mtime);
      fs.rmSync(`${blob}.ok`, { force: true });
      const cli = path.join(dir, 'bin', 'barepod');
      expect(await run(cli, ['--version'], t.env)).toMatchObject({ code: 0, stdout: '0.1.0\n', stderr: '' });
      const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      expect(fs.readFileSync(`${blob}.ok`, 'utf8')).toBe(`no ${boot}\n`);
      const check = await startupCheck(cli, t.env);
      expect(check.ok).toBe(false);
      expect(check.detail).toMatch(/cannot load the start-up snapshot/);
      expect(check.fix).toMatch(/npm run build/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("is what conmon's exit command starts the handler from, and that handler restarts a killed container", async () => {
    const pod = t.pod('hx');
    const traceFile = path.join(t.root, 'trace');
    await t.ok(['pod', 'create', pod, '--network', 'none', '--restart', 'always', '--backoff', '0s']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600'], { BAREPOD_TRACE: traceFile });
    const rec = () =>
      (
        JSON.parse(fs.readFileSync(path.join(t.root, 'pods', pod, 'pod.json'), 'utf8')) as {
          containers: { restarts: number; process: { pid: number; startTime: string } }[];
        }
      ).containers[0]!;
    const before = rec();
    fs.writeFileSync(traceFile, '');
    process.kill(before.process.pid, 'SIGKILL');
    const after = await eventually(() => rec().restarts === 1 && isAlive(rec().process) && rec(), 30_000, 'the app to be restarted');
    expect(after.process.pid).not.toBe(before.process.pid);
    expect(fs.readFileSync(traceFile, 'utf8')).toMatch(
      new RegExp(`exit handler ${pod}/app: node up [\\d.]+s \\(from the start-up snapshot ${path.join(REPO, 'dist', 'handler.blob')}\\)`),
    );
    await t.ok(['pod', 'rm', '-f', pod]);
  });
});
