/**
 * Interactive containers on real runc and conmon: `run -it` / `-i` and
 * `attach`, driven through a real pseudo-terminal (test/helpers/pty.ts).
 * conmon holds the container's terminal (`--terminal`) or stdin pipe
 * (`--stdin`); barepod relays its attach socket, puts our terminal in raw
 * mode and forwards our size to conmon's ctl fifo.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect } from 'vitest';
import { background, CLI, eventually, pidOf, readInContainer, skipReason, test, type TestEnv } from '../helpers/harness.js';
import { onPty } from '../helpers/pty.js';

interface PsLine {
  container: string;
  state: string;
  status: string;
  restarts: number;
  pid: number | null;
}

/** One container as `ps --json` shows it. */
async function stateOf(t: TestEnv, pod: string, name: string): Promise<PsLine | undefined> {
  const view = JSON.parse(await t.ok(['ps', pod, '--json'])) as { pods: { containers: PsLine[] }[] };
  return view.pods.flatMap((p) => p.containers).find((c) => c.container === name);
}

describe.skipIf(skipReason)('run -it and attach', () => {
  test('run -it: a typed command runs in the container, the size follows the terminal, Ctrl-D ends it with the shell exit code, the terminal is restored', async ({
    t,
  }) => {
    const pod = t.pod('it');
    await t.ok(['pod', 'create', pod]);
    const s = onPty(t, ['run', '-it', '--pod', pod, '--name', 'sh', '--restart', 'never', '--', 'sh'], [30, 100]);
    await s.waitFor('/ # ');
    s.type('echo $((6*7)) > /made; stty size; echo marker-$TERM\r');
    await s.waitFor('marker-xterm');
    expect(s.out()).toContain('30 100\r\n');
    // the file the shell made is in the container's root, not on the host
    const pid = await pidOf(t, pod, 'sh');
    expect(readInContainer(pid, '/made')).toBe('42\n');
    expect(fs.existsSync('/made')).toBe(false);

    let from = s.out().length;
    await s.resize(40, 120);
    // the shell learns the new size (SIGWINCH through conmon): stty reads it from the container's terminal
    await eventually(async () => {
      from = s.out().length;
      s.type('stty size\r');
      await s.waitFor(/\d+ \d+\r*\n/, from);
      return s.out().slice(from).includes('40 120');
    });

    s.type('(exit 5)\r');
    await s.waitFor('/ # ', from);
    s.type('\x04'); // Ctrl-D: end of input for the shell, which exits with the last status
    const end = await s.ended;
    expect(end).toEqual({ exit: 5, echo: true, icanon: true, opost: true });
    // raw while attached, output processing off too (as podman's): the container's CR LF arrives as it was sent
    expect(s.out()).toContain('marker-xterm\r\n');
    expect(s.out()).not.toContain('\r\r\n');
    expect((await stateOf(t, pod, 'sh'))?.state).toMatch(/exited|Error/i);
    // conmon logged the terminal's output in the CRI log, as without a terminal
    expect(await t.ok(['logs', pod, 'sh'])).toContain('marker-xterm');
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  test('detach keys leave the container running; attach reaches the same shell again; --detach-keys', async ({ t }) => {
    const pod = t.pod('detach');
    await t.ok(['pod', 'create', pod]);
    const s = onPty(t, ['run', '-it', '--pod', pod, '--name', 'sh', '--', 'sh']);
    await s.waitFor('/ # ');
    const before = s.out().length;
    s.type('KEPT=kept-$((40+1)); echo set\r');
    await s.waitFor('set\r', before);
    s.type('\x10\x11'); // Ctrl-P Ctrl-Q
    expect((await s.ended).exit).toBe(0);
    expect(s.out()).toContain('detached from');
    const pid = await pidOf(t, pod, 'sh');
    expect((await stateOf(t, pod, 'sh'))?.state).toMatch(/running/i);

    // a second session, detached with its own keys (Ctrl-X); the first key of the default sequence alone is passed on
    const a = onPty(t, ['attach', '--detach-keys', 'ctrl-x', pod, 'sh']);
    a.type('echo $KEPT $$\r');
    await a.waitFor(/kept-41 1\r*\n/);
    a.type('\x18');
    expect((await a.ended).exit).toBe(0);
    expect(await pidOf(t, pod, 'sh')).toBe(pid);

    // a third: Ctrl-D ends the shell, and attach exits with its code
    const b = onPty(t, ['attach', pod, 'sh']);
    b.type('echo again-$KEPT\r');
    await b.waitFor('again-kept-41');
    b.type('exit 3\r');
    expect((await b.ended).exit).toBe(3);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  test('a killed attach leaves no relay behind (outside a terminal too, where no SIGHUP ends it), and the container runs on', async ({ t }) => {
    const pod = t.pod('killed');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '-itd', '--pod', pod, '--name', 'sh', '--', 'sh']);
    const pid = await pidOf(t, pod, 'sh');
    const commands = () =>
      fs
        .readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .map((p) => {
          try {
            return { pid: Number(p), cmd: fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0') };
          } catch {
            return { pid: Number(p), cmd: [] };
          }
        });
    const relay = () => commands().find((p) => p.cmd[0]?.endsWith('barepod-attach') && p.cmd.some((w) => w.includes(t.root)));
    const session = background(t, ['attach', pod, 'sh']);
    await eventually(() => relay());
    const barepod = commands().find((p) => p.cmd.some((w) => w.endsWith('barepod.mjs')) && p.cmd.includes('attach') && p.cmd.includes(pod));
    expect(barepod).toBeDefined();
    process.kill(barepod!.pid, 'SIGKILL');
    await session.closed;
    await eventually(() => relay() === undefined);
    expect(await pidOf(t, pod, 'sh')).toBe(pid);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  test('run -i without a terminal: our stdin is the container stdin, its end ends it, stdout and stderr stay apart', async ({ t }) => {
    const pod = t.pod('stdin');
    await t.ok(['pod', 'create', pod]);
    const r = await execa(CLI, ['run', '-i', '--pod', pod, '--name', 'up', '--restart', 'never', '--', 'sh', '-c', 'tr a-z A-Z; echo gone >&2; exit 4'], {
      env: t.env,
      extendEnv: false,
      reject: false,
      input: 'hello\nworld\n',
    });
    expect({ code: r.exitCode, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 4, stdout: 'HELLO\nWORLD', stderr: 'gone' });
    expect(await t.ok(['logs', pod, 'up'])).toBe('HELLO\nWORLD\n');
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  test('a manifest tty+stdin container stays up, is attachable, and again after a restart by its policy; pod rm removes its sockets', async ({ t }) => {
    const pod = t.pod('nginx');
    // the Kubernetes docs' shareProcessNamespace pod (seed 004); busybox for the images, httpd for nginx's server
    const file = path.join(t.root, 'share-process-namespace.yaml');
    fs.writeFileSync(
      file,
      `apiVersion: v1
kind: Pod
metadata:
  name: ${pod}
spec:
  shareProcessNamespace: true
  containers:
  - name: nginx
    image: busybox
    command: [httpd, -f, -p, "80"]
  - name: shell
    image: busybox
    securityContext:
      capabilities:
        add:
        - SYS_PTRACE
    stdin: true
    tty: true
`,
    );
    await t.ok(['up', '-f', file, '--wait', '--timeout', '60s']);
    const shellPid = await pidOf(t, pod, 'shell');
    // no input yet: without a terminal and stdin the shell would have read EOF and exited
    await new Promise((r) => setTimeout(r, 500));
    expect((await stateOf(t, pod, 'shell'))?.state).toMatch(/running/i);
    expect(await pidOf(t, pod, 'shell')).toBe(shellPid);
    expect(fs.readlinkSync(`/proc/${shellPid}/fd/0`)).toMatch(/^\/dev\/pts\/\d+$/);

    const a = onPty(t, ['attach', pod, 'shell']);
    a.type('ps ax\r');
    await a.waitFor('httpd -f -p 80'); // the shared pid namespace: nginx's server is visible
    expect(a.out()).toMatch(/\b1 root .*\/pause/);
    a.type('exit 1\r'); // the pod's policy (Always) brings it back
    expect((await a.ended).exit).toBe(1);

    await eventually(async () => {
      const c = await stateOf(t, pod, 'shell');
      return c?.restarts === 1 && /running/i.test(c.state);
    });
    const b = onPty(t, ['attach', pod, 'shell']);
    b.type('echo back-$((1+1))\r');
    await b.waitFor('back-2');
    b.type('\x10\x11');
    expect((await b.ended).exit).toBe(0);

    const bundle = path.join(t.root, 'pods', pod, 'containers', 'shell');
    expect(fs.statSync(path.join(bundle, 'attach')).isSocket()).toBe(true);
    await t.ok(['pod', 'rm', '-f', pod]);
    expect(fs.existsSync(bundle)).toBe(false);
  });

  test('attach: refused for a stopped container; a typo in --detach-keys is a usage error before anything is made', async ({ t }) => {
    const pod = t.pod('errs');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'once', '--restart', 'never', '--', 'true']);
    await eventually(async () => /exited|completed/i.test((await stateOf(t, pod, 'once'))?.state ?? ''));
    const r = await t.bp(['attach', pod, 'once']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/not running/);
    const bad = await t.bp(['run', '-it', '--pod', pod, '--name', 'x', '--detach-keys', 'ctrl-1', '--', 'sh']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--detach-keys');
    // -it from a pipe: refused as exec -t and docker do (the end of the input would never reach the shell)
    const notTty = await t.bp(['run', '-it', '--pod', pod, '--name', 'x', '--', 'sh']);
    expect(notTty.code).toBe(2);
    expect(notTty.stderr).toContain('not a TTY');
    expect(fs.existsSync(path.join(t.root, 'pods', pod, 'containers', 'x'))).toBe(false);
    // -d alone is podman's habit: accepted, run returns as it always does
    await t.ok(['run', '-d', '--pod', pod, '--name', 'bg', '--', 'sleep', '600']);
    expect((await stateOf(t, pod, 'bg'))?.status).toBe('Running');
    await t.ok(['pod', 'rm', '-f', pod]);
  });
});
