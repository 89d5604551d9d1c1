/**
 * `barepod logs` on real conmon CRI logs: both streams, prefixes, --tail,
 * --since, long lines, and -f across new lines, restarts, added containers
 * and conmon's log rotation. `barepod exec` on real runc: output and exit
 * status, the container's environment and cgroup, a pty, errors, no lock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import {
  jsonLines,
  background,
  cgroupDirs,
  CLI,
  eventually,
  pidOf,
  readInContainer,
  run,
  skipReason,
  type Result,
  type TestEnv,
  useTestEnv,
} from '../helpers/harness.js';

const count = (text: string, line: string) => text.split('\n').filter((l) => l === line).length;
const linesOf = (text: string) => text.split('\n').filter(Boolean);
interface JsonLine {
  container: string;
  stream: string;
  time: string;
  text: string;
}

/** Writes a file inside a running container (through /proc/<pid>/root): the cue a test container waits for. */
async function cue(t: TestEnv, pod: string, container: string, file = '/tmp/go'): Promise<void> {
  fs.writeFileSync(`/proc/${await pidOf(t, pod, container)}/root${file}`, '');
}

describe.skipIf(skipReason)('logs', () => {
  const t = useTestEnv();

  it('both streams in order per stream, [name] prefixes, -c, --tail per container, --timestamps', async () => {
    const pod = t.pod('logs');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sh', '-c', 'for i in 1 2 3; do echo out$i; echo err$i >&2; done; exec sleep 3600']);
    await t.ok(['run', '--pod', pod, '--name', 'side', '--', 'sh', '-c', 'echo s1; echo s2; exec sleep 3600']);
    const all = await eventually(async () => {
      const lines = jsonLines(await t.ok(['logs', pod, '--json'])) as JsonLine[];
      return lines.length === 8 && lines;
    });

    const app = await t.bp(['logs', pod, 'app']);
    expect(app).toEqual({ code: 0, stdout: 'out1\nout2\nout3\n', stderr: 'err1\nerr2\nerr3\n' });
    expect(await t.bp(['logs', pod, '-c', 'app'])).toEqual(app);
    expect(await t.bp(['logs', pod, 'app', '--container', 'app'])).toEqual(app);

    const both = await t.bp(['logs', pod]);
    expect(both.code).toBe(0);
    expect(linesOf(both.stdout).filter((l) => l.startsWith('[app] '))).toEqual(['[app] out1', '[app] out2', '[app] out3']);
    expect(linesOf(both.stdout).filter((l) => l.startsWith('[side] '))).toEqual(['[side] s1', '[side] s2']);
    expect(linesOf(both.stdout)).toHaveLength(5);
    expect(both.stderr).toBe('[app] err1\n[app] err2\n[app] err3\n');
    expect(both.stdout + both.stderr).not.toMatch(/\x1b/); // not a terminal: no colours

    // --tail applies to each container: its last line (app's is whichever stream conmon logged last)
    const tail = jsonLines(await t.ok(['logs', pod, '--tail', '1', '--json'])) as JsonLine[];
    const lastOf = (c: string) => all.filter((l) => l.container === c).at(-1);
    expect(tail).toEqual([lastOf('app'), lastOf('side')].sort((a, b) => (a!.time < b!.time ? -1 : 1)));
    expect(await t.ok(['logs', pod, 'side', '--tail', '1'])).toBe('s2\n');
    expect(await t.ok(['logs', pod, 'side', '--tail', '0'])).toBe('');

    expect(await t.ok(['logs', pod, 'side', '--timestamps'])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) s1\n\S+ s2\n$/);

    const twoNames = await t.bp(['logs', pod, 'app', '-c', 'side']);
    expect(twoNames.code).toBe(2);
    expect(twoNames.stderr).toMatch(/two containers named: "app" and -c "side"/);
    expect((await t.bp(['logs', pod, '-c', 'nope'])).code).toBe(3);
    expect((await t.bp(['logs', pod, '--tail', 'x'])).code).toBe(2);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('prefixes are coloured on a terminal, one colour per container, and not with NO_COLOR', async () => {
    const pod = t.pod('colour');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sh', '-c', 'echo hello; exec sleep 3600']);
    await t.ok(['run', '--pod', pod, '--name', 'side', '--', 'sh', '-c', 'echo world; exec sleep 3600']);
    await eventually(async () => (await t.ok(['logs', pod])).includes('world'));
    // script(1) gives the CLI a pseudo-terminal
    const { NO_COLOR: _, ...env } = t.env;
    const tty = await run('script', ['-qec', `${CLI} logs ${pod}`, '/dev/null'], env);
    const app = /\x1b\[(\d+)m\[app\]\x1b\[0m hello/.exec(tty.stdout);
    const side = /\x1b\[(\d+)m\[side\]\x1b\[0m world/.exec(tty.stdout);
    expect(app, tty.stdout).not.toBeNull();
    expect(side, tty.stdout).not.toBeNull();
    expect(app![1]).not.toBe(side![1]);
    const plain = await run('script', ['-qec', `${CLI} logs ${pod}`, '/dev/null'], { ...env, NO_COLOR: '1' });
    expect(plain.stdout).toMatch(/\[app\] hello/);
    expect(plain.stdout).not.toMatch(/\x1b/);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('--since leaves out older lines: a duration or an RFC3339 time; a bad value names the flag', async () => {
    const pod = t.pod('since');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sh', '-c', 'echo old; sleep 2; while :; do echo new; sleep 0.2; done']);
    // 'new' comes 2 s after 'old': from then on, 'old' is always more than 1 s old
    const lines = await eventually(async () => {
      const l = jsonLines(await t.ok(['logs', pod, '--json'])) as JsonLine[];
      return l.some((x) => x.text === 'new') && l;
    });
    const recent = linesOf(await t.ok(['logs', pod, '--since', '1s']));
    expect(recent).not.toContain('[app] old');
    expect(recent).toContain('[app] new');
    const firstNew = lines.find((l) => l.text === 'new')!;
    const fromNew = jsonLines(await t.ok(['logs', pod, '--since', firstNew.time, '--json'])) as JsonLine[];
    expect(fromNew[0]).toEqual(firstNew);
    expect(fromNew.map((l) => l.text)).not.toContain('old');
    expect(linesOf(await t.ok(['logs', pod, 'app', '--since', '1h']))[0]).toBe('old');
    const bad = await t.bp(['logs', pod, '--since', '10x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since "10x": must be a duration/);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it("a line longer than conmon's buffer comes back whole (its partial records joined)", async () => {
    const pod = t.pod('long');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sh', '-c', 'head -c 20000 /dev/zero | tr "\\0" x; echo; echo short; exec sleep 3600']);
    const out = await eventually(async () => {
      const o = await t.ok(['logs', pod, 'app']);
      return o.includes('short') && o;
    });
    expect(out).toBe('x'.repeat(20000) + '\nshort\n');
    // conmon did split it: the join is what made it whole
    expect(fs.readFileSync(path.join(t.root, 'pods', pod, 'containers', 'app', 'ctr.log'), 'utf8')).toMatch(/ stdout P x/);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('-f prints new lines, follows a container across stop + start and one added later, and ends when the pod is removed', async () => {
    const pod = t.pod('follow');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sh', '-c', 'echo a; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo b; exec sleep 3600']);
    await t.ok(['run', '--pod', pod, '--name', 'side', '--', 'sleep', '3600']); // keeps the pod's logs followed while app is stopped
    const f = background(t, ['logs', '-f', pod]);
    try {
      await eventually(() => f.out().includes('[app] a\n'), 15_000, 'the line written before following');
      await cue(t, pod, 'app');
      await eventually(() => f.out().includes('[app] b\n'), 15_000, 'a line written while following');
      // a restarted container writes on into the same log file: the same follower sees the new instance
      await t.ok(['stop', pod, 'app', '--time', '1']);
      await t.ok(['start', pod, 'app']);
      await eventually(() => count(f.out(), '[app] a') === 2, 15_000, "the restarted instance's first line");
      await cue(t, pod, 'app');
      await eventually(() => count(f.out(), '[app] b') === 2, 15_000, "the restarted instance's second line");
      await t.ok(['run', '--pod', pod, '--name', 'late', '--', 'sh', '-c', 'echo late; exec sleep 3600']);
      await eventually(() => f.out().includes('[late] late\n'), 15_000, 'a container added while following');
      await t.ok(['pod', 'rm', '-f', pod]);
      await eventually(() => f.code() !== undefined, 15_000, 'the follower to end with the pod');
      expect(f.code()).toBe(0);
      expect(f.out()).toBe('[app] a\n[app] b\n[app] a\n[app] b\n[late] late\n'); // each line once
      expect(f.err()).toBe('');
    } finally {
      await f.kill();
    }
  });

  it("-f on one container follows it across restarts by its policy (each instance's lines, stdout and stderr)", async () => {
    const pod = t.pod('crashfollow');
    await t.ok(['pod', 'create', pod, '--restart', 'always', '--backoff', '0s']);
    // every instance says hello on both streams, then dies; the pod's /dev/shm counts the instances
    await t.ok([
      'run',
      '--pod',
      pod,
      '--name',
      'app',
      '--',
      'sh',
      '-c',
      'n=$(cat /dev/shm/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /dev/shm/n; echo "out $n"; echo "err $n" >&2; [ $n -ge 3 ] && exec sleep 3600; sleep 0.3; exit 1',
    ]);
    const f = background(t, ['logs', '-f', pod, '-c', 'app']);
    try {
      await eventually(() => f.out().includes('out 3\n') && f.err().includes('err 3\n'), 30_000, "the third instance's lines");
      expect(f.code()).toBeUndefined(); // still following: restarts do not end it
      expect(linesOf(f.out())).toEqual(['out 1', 'out 2', 'out 3']);
      expect(linesOf(f.err())).toEqual(['err 1', 'err 2', 'err 3']);
    } finally {
      await f.kill();
    }
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('-f ends by itself once the followed containers have exited; --json gives one object per line', async () => {
    const pod = t.pod('ends');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'job', '--', 'sh', '-c', 'echo one; echo two >&2']);
    await t.ok(['run', '--pod', pod, '--name', 'keep', '--', 'sleep', '3600']);
    const one = background(t, ['logs', '-f', pod, '-c', 'job']);
    const json = background(t, ['logs', '-f', '--json', pod, 'job']);
    try {
      await eventually(() => one.code() !== undefined && json.code() !== undefined, 15_000, 'the followers of job to end');
      expect([one.code(), one.out(), one.err()]).toEqual([0, 'one\n', 'two\n']);
      expect(json.code()).toBe(0);
      const objects = linesOf(json.out()).map((l) => JSON.parse(l) as JsonLine);
      expect(objects.map((o) => [o.container, o.stream, o.text]).sort()).toEqual([
        ['job', 'stderr', 'two'],
        ['job', 'stdout', 'one'],
      ]);
    } finally {
      await one.kill();
      await json.kill();
    }
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('-f loses no line when conmon rotates the log at --log-size-max (10 MiB)', async () => {
    const pod = t.pod('rotate');
    await t.ok(['pod', 'create', pod]);
    // 11,000 lines of 1,000 digits: about 11.5 MB of log, so conmon replaces the file exactly once
    const script =
      'echo start; while [ ! -e /tmp/go ]; do sleep 0.1; done; yes $(head -c 1000 /dev/zero | tr "\\0" 7) | head -n 11000; echo after; exec sleep 3600';
    await t.ok(['run', '--pod', pod, '--name', 'big', '--', 'sh', '-c', script]);
    const f = background(t, ['logs', '-f', pod, 'big']);
    try {
      await eventually(() => f.out().includes('start\n'), 15_000, 'the follower to have opened the log');
      await cue(t, pod, 'big');
      await eventually(() => f.out().endsWith('after\n'), 60_000, 'the line after 11 MB of output');
      expect(linesOf(f.out())).toHaveLength(11_002);
      expect(count(f.out(), '7'.repeat(1000))).toBe(11_000);
      // the log was replaced: the file holds less than what was written
      expect(fs.statSync(path.join(t.root, 'pods', pod, 'containers', 'big', 'ctr.log')).size).toBeLessThan(11_000_000);
    } finally {
      await f.kill();
    }
    await t.ok(['pod', 'rm', '-f', pod]);
  });
});

/** Runs the CLI with `input` on its stdin. */
async function withInput(t: TestEnv, args: string[], input: string): Promise<Result> {
  const r = await execa(CLI, args, { env: t.env, extendEnv: false, input, reject: false, stripFinalNewline: false });
  return { code: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** Pids in a container's cgroup (in the first hierarchy that has it). */
function cgroupProcs(t: TestEnv, pod: string, container: string): number[] {
  for (const dir of cgroupDirs(t.prefix).filter((d) => path.basename(d) === pod)) {
    try {
      return fs
        .readFileSync(path.join(dir, container, 'cgroup.procs'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map(Number);
    } catch {
      /* not in this hierarchy */
    }
  }
  return [];
}

const cmdline = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
};

describe.skipIf(skipReason)('exec', () => {
  const t = useTestEnv();

  it("passes output and exit status through; runs with the container's filesystem, env and workdir, plus -e, -w, -u, -i", async () => {
    const pod = t.pod('exec');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'app', '-e', 'FOO=bar', '-w', '/tmp', '--', 'sh', '-c', 'echo mine > /tmp/mark; exec sleep 3600']);
    const app = await pidOf(t, pod, 'app');
    await eventually(() => readInContainer(app, '/tmp/mark'));

    expect(await t.bp(['exec', pod, 'app', '--', 'sh', '-c', 'echo hi; echo oops >&2; exit 7'])).toEqual({ code: 7, stdout: 'hi\n', stderr: 'oops\n' });
    expect(await t.ok(['exec', pod, 'app', '--', 'sh', '-c', 'echo $FOO; pwd; cat /tmp/mark; hostname'])).toBe(`bar\n/tmp\nmine\n${pod}\n`);
    expect(await t.ok(['exec', '-e', 'X=1', '-e', 'FOO=baz', '-w', '/', pod, 'app', '--', 'sh', '-c', 'echo $X $FOO; pwd'])).toBe('1 baz\n/\n');
    expect(await t.ok(['exec', '-u', '1000:1001', pod, 'app', '--', 'sh', '-c', 'echo $(id -u):$(id -g)'])).toBe('1000:1001\n');
    // stdin only with -i
    expect(await withInput(t, ['exec', '-i', pod, 'app', '--', 'cat'], 'piped\n')).toEqual({ code: 0, stdout: 'piped\n', stderr: '' });
    expect(await withInput(t, ['exec', pod, 'app', '--', 'cat'], 'piped\n')).toEqual({ code: 0, stdout: '', stderr: '' });
    // a command runc cannot start: runc's own status and message
    const missing = await t.bp(['exec', pod, 'app', '--', 'no-such-command']);
    expect(missing.code).toBe(255);
    expect(missing.stderr).toMatch(/no-such-command.*not found/);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('errors: no command, unknown pod or container, a stopped container, -t without a terminal, bad flags', async () => {
    const pod = t.pod('execerr');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    await t.ok(['run', '--pod', pod, '--name', 'done', '--', 'true']);
    const noCommand = await t.bp(['exec', pod, 'app']);
    expect(noCommand.code).toBe(2);
    expect(noCommand.stderr).toMatch(/no command given/);
    const unknown = await t.bp(['exec', pod, 'nope', '--', 'true']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/container "nope" not found in pod/);
    expect((await t.bp(['exec', t.pod('nopod'), 'app', '--', 'true'])).code).toBe(3);
    await eventually(async () => (await t.ok(['ps', pod])).includes('Completed (0)'));
    const stopped = await t.bp(['exec', pod, 'done', '--', 'true']);
    expect(stopped.code).toBe(4);
    expect(stopped.stderr).toMatch(/container "done" in pod "\S+" is not running \(exited, exit 0\)/);
    expect(stopped.stderr).toMatch(/hint: start it first: barepod start/);
    const noTty = await t.bp(['exec', '-t', pod, 'app', '--', 'true']);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toMatch(/the input device is not a TTY/);
    expect((await t.bp(['exec', '-w', 'tmp', pod, 'app', '--', 'true'])).code).toBe(2);
    expect((await t.bp(['exec', '-u', 'root', pod, 'app', '--', 'true'])).code).toBe(2);
    expect((await t.bp(['exec', '-e', '1X=2', pod, 'app', '--', 'true'])).code).toBe(2);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it("the process runs in the container's cgroup; a signal that kills it is the exit status (128+n)", async () => {
    const pod = t.pod('execcg');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    const session = background(t, ['exec', pod, 'app', '--', 'sleep', '2345']);
    try {
      const pid = await eventually(() => cgroupProcs(t, pod, 'app').find((p) => cmdline(p) === 'sleep 2345'), 15_000, "the exec'd sleep in app's cgroup");
      process.kill(pid, 'SIGTERM');
      await eventually(() => session.code() !== undefined, 15_000, 'exec to end');
      expect(session.code()).toBe(128 + 15);
      expect(session.err()).toBe(''); // barepod adds nothing of its own
    } finally {
      await session.kill();
    }
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('-t gives the command a terminal (runc allocates a pty)', async () => {
    const pod = t.pod('exectty');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    // script(1) runs the CLI on a pseudo-terminal
    const tty = await run('script', ['-qec', `${CLI} exec -t ${pod} app -- tty`, '/dev/null'], t.env);
    expect(tty.code).toBe(0);
    expect(tty.stdout).toMatch(/\/dev\/pts\/\d+/);
    const plain = await t.bp(['exec', pod, 'app', '--', 'tty']);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toMatch(/not a tty/);
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('takes no pod lock: it works while another command holds the pod', async () => {
    const pod = t.pod('execlock');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    // the lock as a live barepod command holds it: this test process's pid and start time
    const stat = fs.readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    const lock = path.join(t.root, 'locks', pod);
    fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, startTime }));
    try {
      expect(await t.bp(['exec', pod, 'app', '--', 'echo', 'in'])).toEqual({ code: 0, stdout: 'in\n', stderr: '' });
    } finally {
      fs.rmSync(lock, { force: true });
    }
    await t.ok(['pod', 'rm', '-f', pod]);
  });
});
