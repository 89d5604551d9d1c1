/**
 * Pods on real runc and conmon (root): namespaces joined through
 * /proc/<pausePid>/ns, pid sharing and signals, zombie reaping by pause,
 * stop/start/rm, and a leak check after every test.
 */
import fs from 'node:fs';
import { describe, expect } from 'vitest';
import { eventually, inspect, jsonLines, nsInode, pidOf, readInContainer, run, skipReason, test } from '../helpers/harness.js';

describe.skipIf(skipReason)('pods on runc', () => {
  test('pause + 2 containers: net, ipc, uts shared; mnt and pid their own; one hostname', async ({ t }) => {
    const pod = t.pod('web');
    await t.ok(['pod', 'create', pod, '--share', 'net,ipc,uts']);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--image', 'busybox', '--', 'sh', '-c', 'hostname > /tmp/h; exec sleep 3600']);
    await t.ok(['run', '--pod', pod, '--name', 'side', '--', 'sh', '-c', 'hostname > /tmp/h; exec sleep 3600']);
    const v = await inspect(t, pod);
    const pause = v.sandbox.pid;
    const app = await pidOf(t, pod, 'app');
    const side = await pidOf(t, pod, 'side');
    for (const ns of ['net', 'ipc', 'uts']) {
      expect(nsInode(app, ns), ns).toBe(nsInode(pause, ns));
      expect(nsInode(side, ns), ns).toBe(nsInode(pause, ns));
    }
    expect(new Set([pause, app, side].map((p) => nsInode(p, 'mnt'))).size).toBe(3);
    expect(new Set([pause, app, side].map((p) => nsInode(p, 'pid'))).size).toBe(3);
    // and none of them is the host's
    expect(nsInode(pause, 'net')).not.toBe(nsInode(process.pid, 'net'));
    // UTS is shared, which Docker cannot do: every member reports the pod's hostname
    for (const pid of [app, side]) expect(await eventually(() => readInContainer(pid, '/tmp/h'))).toBe(`${pod}\n`);
    const viaNsenter = await run('nsenter', ['-t', String(pause), '-u', 'hostname']);
    expect(viaNsenter.stdout.trim()).toBe(pod);
    // the spec joins by /proc/<pausePid>/ns path and sets no hostname
    const spec = JSON.parse(await t.ok(['spec', pod, 'app'])) as { hostname?: string; linux: { namespaces: { type: string; path?: string }[] } };
    expect(spec.hostname).toBeUndefined();
    expect(spec.linux.namespaces).toEqual(
      expect.arrayContaining([
        { type: 'network', path: `/proc/${pause}/ns/net` },
        { type: 'ipc', path: `/proc/${pause}/ns/ipc` },
        { type: 'uts', path: `/proc/${pause}/ns/uts` },
        { type: 'pid' },
        { type: 'mount' },
      ]),
    );
    await t.ok(['pod', 'rm', pod, '--time', '1']);
  });

  test('the pod localhost is shared: a sidecar fetches from the app on 127.0.0.1', async ({ t }) => {
    const pod = t.pod('lo');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'httpd', '-f', '-p', '8080', '-h', '/var/www']);
    await t.ok([
      'run',
      '--pod',
      pod,
      '--name',
      'side',
      '--',
      'sh',
      '-c',
      'while :; do wget -qO /tmp/got http://127.0.0.1:8080/ && break; sleep 0.1; done; exec sleep 3600',
    ]);
    const side = await pidOf(t, pod, 'side');
    expect(await eventually(() => readInContainer(side, '/tmp/got'))).toBe('hello from a barepod pod\n');
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  test('shared pid namespace: pause is PID 1, ps sees the neighbour, SIGHUP crosses containers', async ({ t }) => {
    const pod = t.pod('pid');
    await t.ok(['pod', 'create', pod, '--share', 'net,ipc,uts,pid']);
    await t.ok(['run', '--pod', pod, '--name', 'web', '--', 'sh', '-c', 'trap "echo got-hup > /tmp/hup" HUP; while :; do sleep 0.1; done']);
    await t.ok([
      'run',
      '--pod',
      pod,
      '--name',
      'renew',
      '--',
      'sh',
      '-c',
      'ps -o pid,args > /tmp/ps; kill -HUP $(ps -o pid,args | grep "[g]ot-hup" | awk "{print \\$1}"); exec sleep 3600',
    ]);
    const web = await pidOf(t, pod, 'web');
    const renew = await pidOf(t, pod, 'renew');
    const pause = (await inspect(t, pod)).sandbox.pid;
    expect(nsInode(web, 'pid')).toBe(nsInode(pause, 'pid'));
    expect(nsInode(renew, 'pid')).toBe(nsInode(pause, 'pid'));
    expect(await eventually(() => readInContainer(web, '/tmp/hup'), 15_000, 'SIGHUP to reach web')).toBe('got-hup\n');
    const ps = readInContainer(renew, '/tmp/ps') ?? '';
    expect(ps).toMatch(/^\s*1\s+\/pause\s*$/m);
    expect(ps).toContain('got-hup');
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  test('pause reaps an orphan of another container when it is PID 1 of a shared pid namespace', async ({ t }) => {
    const pod = t.pod('reap');
    await t.ok(['pod', 'create', pod, '--share', 'net,ipc,uts,pid']);
    // the inner shell starts a background sleep and exits: the sleep is orphaned into the pod's pid namespace
    await t.ok(['run', '--pod', pod, '--name', 'orph', '--', 'sh', '-c', 'sh -c "sleep 2 & echo \\$! > /tmp/orphan"; exec sleep 3600']);
    const orph = await pidOf(t, pod, 'orph');
    const pause = (await inspect(t, pod)).sandbox.pid;
    const inner = Number(await eventually(() => readInContainer(orph, '/tmp/orphan')));
    // find the orphan's host pid: the process in the pod whose innermost pid is `inner`
    const hostPid = await eventually(() =>
      fs
        .readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .map(Number)
        .find((p) => {
          try {
            const st = fs.readFileSync(`/proc/${p}/status`, 'utf8');
            return new RegExp(`^NSpid:.*\\s${inner}$`, 'm').test(st) && nsInode(p, 'pid') === nsInode(pause, 'pid');
          } catch {
            return false;
          }
        }),
    );
    const ppid = Number(/^PPid:\s*(\d+)$/m.exec(fs.readFileSync(`/proc/${hostPid}/status`, 'utf8'))?.[1]);
    expect(ppid, 'the orphan was re-parented to pause').toBe(pause);
    // when it exits, pause reaps it: no zombie stays behind
    await eventually(() => !fs.existsSync(`/proc/${hostPid}`), 15_000, 'the orphan to be reaped');
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  test('exit codes and logs land where conmon puts them: ps shows the code, logs both streams in order', async ({ t }) => {
    const pod = t.pod('logs');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'job', '--', 'sh', '-c', 'echo one; echo two >&2; echo three; exit 7']);
    const ps = await eventually(async () => {
      const v = JSON.parse(await t.ok(['ps', pod, '--json'])) as { pods: { containers: { container: string; state: string; exitCode: number | null }[] }[] };
      const job = v.pods[0]?.containers.find((c) => c.container === 'job');
      return job?.state === 'exited' ? job : undefined;
    });
    expect(ps.exitCode).toBe(7);
    const lines = jsonLines(await t.ok(['logs', pod, 'job', '--json'])) as { stream: string; text: string }[];
    expect(lines.filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual(['one', 'three']);
    expect(lines.filter((l) => l.stream === 'stderr').map((l) => l.text)).toEqual(['two']);
    const plain = await t.bp(['logs', pod]);
    expect(plain.stdout).toBe('[job] one\n[job] three\n');
    expect(plain.stderr).toBe('[job] two\n');
    await t.ok(['pod', 'rm', pod]);
  });

  test('stop, start and rm a container; a restarted container joins the same namespaces', async ({ t }) => {
    const pod = t.pod('cycle');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sh', '-c', 'trap "exit 3" TERM; while :; do sleep 0.1; done']);
    const pause = (await inspect(t, pod)).sandbox.pid;
    const first = await pidOf(t, pod, 'app');
    const out = await t.ok(['stop', pod, 'app', '--time', '10']);
    expect(out).toContain('exit 3'); // SIGTERM reached the trap: graceful, not killed
    expect(fs.existsSync(`/proc/${first}`)).toBe(false);
    const ps = JSON.parse(await t.ok(['ps', pod, '--json'])) as { pods: { containers: { container: string; state: string; exitCode: number }[] }[] };
    expect(ps.pods[0]?.containers.find((c) => c.container === 'app')).toMatchObject({ state: 'exited', exitCode: 3 });
    await t.ok(['start', pod, 'app']);
    const second = await pidOf(t, pod, 'app');
    expect(second).not.toBe(first);
    expect(nsInode(second, 'net')).toBe(nsInode(pause, 'net'));
    const running = await t.bp(['rm', pod, 'app']);
    expect(running.code).toBe(4);
    expect(running.stderr).toMatch(/is running/);
    await t.ok(['rm', '-f', pod, 'app']);
    expect((await inspect(t, pod)).containers).toEqual([]);
    await t.ok(['pod', 'rm', pod]);
  });
});
