/**
 * The restart path's own entry (dist/handler.mjs) on real runc and conmon:
 * conmon's exit command runs it straight on Node and it restarts a killed
 * container; any other argv makes it the whole CLI; and runc's state file,
 * which the restart now reads instead of running `runc state`, says what
 * `runc state` says.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, eventually, readInContainer, REPO, run, skipReason, useTestEnv } from '../helpers/harness.js';
import { Runc } from '../../src/runtime/runc.js';
import { isAlive } from '../../src/runtime/procfs.js';

const HANDLER = path.join(REPO, 'dist', 'handler.mjs');
interface Rec {
  containers: { def: { name: string }; restarts: number; process: { pid: number; startTime: string }; conmon: { pid: number } }[];
}
const cmdline = (pid: number) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

describe.skipIf(skipReason)('the handler entry (dist/handler.mjs)', () => {
  const t = useTestEnv();
  const record = (pod: string) => JSON.parse(fs.readFileSync(path.join(t.root, 'pods', pod, 'pod.json'), 'utf8')) as Rec;

  it("is conmon's exit command, run on Node with no launcher in between; it restarts a SIGKILLed container without a `runc state`", async () => {
    const pod = t.pod('hx');
    const traceFile = path.join(t.root, 'trace');
    await t.ok(['pod', 'create', pod, '--network', 'none', '--restart', 'always', '--backoff', '0s']);
    // conmon (and so its exit command) inherits the trace variable from this run
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600'], { BAREPOD_TRACE: traceFile });
    const before = record(pod).containers[0]!;
    const argv = cmdline(before.conmon.pid);
    const exitArgs = argv.flatMap((a, i) => (argv[i - 1] === '--exit-command-arg' ? [a] : []));
    expect(exitArgs.slice(-8)).toEqual([process.execPath, HANDLER, '--root', t.root, '_exited', pod, 'app', expect.any(String)]);
    fs.writeFileSync(traceFile, '');
    process.kill(before.process.pid, 'SIGKILL');
    const after = await eventually(
      () => {
        const c = record(pod).containers[0]!;
        return c.restarts === 1 && isAlive(c.process) && c;
      },
      30_000,
      'the app to be restarted',
    );
    expect(after.process.pid).not.toBe(before.process.pid);
    expect(cmdline(after.process.pid)).toEqual(['sleep', '3600']);
    const trace = fs.readFileSync(traceFile, 'utf8');
    expect(trace).toMatch(new RegExp(`exit handler ${pod}/app: node up`));
    expect(trace).toMatch(new RegExp(`runc --root \\S+ delete ${pod}\\.app`));
    expect(trace).not.toMatch(/runc --root \S+ state /);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('given any other argv, is the whole CLI: the same output and exit status as bin/barepod', async () => {
    const pod = t.pod('cli');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    const both = async (args: string[]) => {
      const viaCli = await run(CLI, args, t.env);
      const viaHandler = await run(process.execPath, [HANDLER, ...args], t.env);
      return { viaCli, viaHandler };
    };
    for (const args of [['--version'], ['pod', 'ls', '--json'], ['_exited', '../etc', 'app', '1'], ['--root', t.root, '_exited', pod, 'A_B', '1']]) {
      const { viaCli, viaHandler } = await both(args);
      expect(viaHandler, args.join(' ')).toEqual(viaCli);
    }
    expect((await both(['pod', 'ls', '--json'])).viaHandler.stdout).toContain(pod);
    expect((await both(['_exited', '../etc', 'app', '1'])).viaHandler.code).toBe(2);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it("reads from runc's state file what `runc state` says: the init process, alive, then dead once killed", async () => {
    const pod = t.pod('st');
    await t.ok(['pod', 'create', pod, '--network', 'none', '--restart', 'never']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    const runc = new Runc('runc', path.join(t.root, 'runc'));
    const id = `${pod}.app`;
    const state = () =>
      JSON.parse(execFileSync('runc', ['--root', path.join(t.root, 'runc'), 'state', id], { encoding: 'utf8' })) as { pid: number; status: string };
    const init = runc.initProcess(id)!;
    expect(state()).toMatchObject({ status: 'running', pid: init.pid });
    expect(isAlive(init)).toBe(true);
    expect(init).toEqual(record(pod).containers[0]!.process);
    process.kill(init.pid, 'SIGKILL');
    await eventually(() => state().status === 'stopped', 15_000, 'runc to see it stopped');
    expect(isAlive(runc.initProcess(id))).toBe(false);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('a restart keeps the overlay mounted while nothing wrote to the upper dir, and mounts a fresh one after the container or the host wrote there', async () => {
    const pod = t.pod('fr');
    const traceFile = path.join(t.root, 'trace');
    const traced = { BAREPOD_TRACE: traceFile }; // conmon and so every exit handler after it inherit it
    await t.ok(['pod', 'create', pod, '--network', 'none', '--restart', 'always', '--backoff', '0s']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600'], traced);
    const rootfs = path.join(t.root, 'pods', pod, 'containers', 'app', 'rootfs');
    const upper = path.join(t.root, 'pods', pod, 'containers', 'app', 'upper');
    let restarts = 0;
    /** Kills the app and waits for its restart; says whether the handler unmounted and mounted its rootfs again. */
    const restart = async () => {
      fs.writeFileSync(traceFile, '');
      const before = record(pod).containers[0]!;
      process.kill(before.process.pid, 'SIGKILL');
      restarts++;
      const pid = await eventually(
        () => {
          const c = record(pod).containers[0]!;
          return c.restarts === restarts && isAlive(c.process) && c.process.pid;
        },
        30_000,
        `restart ${restarts}`,
      );
      const trace = fs.readFileSync(traceFile, 'utf8');
      expect(trace).toContain(`restart ${pod}/app`);
      return { pid, remounted: trace.includes(`umount ${rootfs}`) && trace.includes('mount -t overlay') };
    };
    // 1. nothing written: the mounted overlay serves the new instance
    let r = await restart();
    expect(r.remounted).toBe(false);
    r = await restart();
    expect(r.remounted).toBe(false);
    // 2. the container writes (a file, a whiteout): the next instance gets a new overlay on an empty upper dir
    await t.ok(['exec', pod, 'app', '--', 'sh', '-c', 'echo dirty > /tmp/dirty && rm /bin/true']);
    expect(readInContainer(r.pid, '/tmp/dirty')).toBe('dirty\n');
    r = await restart();
    expect(r.remounted).toBe(true);
    expect(readInContainer(r.pid, '/tmp/dirty')).toBeUndefined();
    expect(fs.existsSync(`/proc/${r.pid}/root/bin/true`)).toBe(true);
    expect(fs.existsSync(path.join(upper, 'tmp', 'dirty'))).toBe(false);
    // and the restart after it, with nothing written, keeps that one
    r = await restart();
    expect(r.remounted).toBe(false);
    // 3. the host writes into the rootfs (through the overlay, so into the upper dir): a new overlay again
    fs.writeFileSync(path.join(rootfs, 'from-host'), 'x');
    r = await restart();
    expect(r.remounted).toBe(true);
    expect(fs.existsSync(`/proc/${r.pid}/root/from-host`)).toBe(false);
    // 4. stop and start keep the writable layer (as podman does); the restart after them mounts afresh
    await t.ok(['exec', pod, 'app', '--', 'sh', '-c', 'echo kept > /tmp/kept']);
    await t.ok(['stop', '--time', '0', pod, 'app']);
    await t.ok(['start', pod, 'app'], traced);
    expect(readInContainer(record(pod).containers[0]!.process.pid, '/tmp/kept')).toBe('kept\n');
    restarts = record(pod).containers[0]!.restarts;
    r = await restart();
    expect(r.remounted).toBe(true);
    expect(readInContainer(r.pid, '/tmp/kept')).toBeUndefined();
    await t.ok(['pod', 'rm', '-f', pod]);
  });
});
