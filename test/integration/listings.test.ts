/**
 * Listings and exec on real runc and conmon (issue 15, §5 and §6): READY
 * counts the app containers and sidecars that are ready by their probes, not
 * init containers; ps marks init containers and sidecars; -o wide and the
 * JSON show the pod's IP (the one on eth0 inside its netns), ports and
 * hostname; up --json tells a CI job the same, with each container's image
 * digest; exec -c (and the default container, by the annotation or because
 * it is the only one); --share +pid; logs --json as JSON lines; and with
 * --json every command's error is one JSON object on stdout, exit status
 * unchanged.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { eventually, inspect, jsonLines, nsInode, pidOf, readInContainer, run, skipReason, type TestEnv, useTestEnv } from '../helpers/harness.js';
import { freePort, tarDir, writeOciLayout } from '../helpers/image-fixtures.js';
import { validatorOf } from '../helpers/schemas.js';

const BUSYBOX = '/var/lib/barepod/builtin/busybox/rootfs';

interface Port {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP: string;
}
interface PodRow {
  name: string;
  readyContainers: number;
  appContainers: number;
  ip: string | null;
  ports: Port[];
  hostname: string | null;
}
interface PsView {
  pods: (PodRow & { containers: { container: string; kind: string; ready: boolean; imageId: string | null }[] })[];
}
interface UpView {
  pod: string;
  outcome: string;
  ip: string | null;
  ports: Port[];
  hostname: string | null;
  readyContainers: number;
  appContainers: number;
  containers: { name: string; kind: string; state: string; ready: boolean; image: string; imageId: string | null; pid: number | null }[];
}

/** The IPv4 address on eth0 inside the pod's network namespace, as `ip` sees it there (through the pause's netns). */
async function ipInNetns(pausePid: number): Promise<string> {
  const r = await run('nsenter', [`--net=/proc/${pausePid}/ns/net`, '--', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
  expect(r.code, r.stderr).toBe(0);
  const m = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(r.stdout);
  expect(m, r.stdout).not.toBeNull();
  return m![1]!;
}

/** A manifest: an init container, a native sidecar, an app with a published port, an app whose readiness probe waits for /tmp/ready; each writes its own name to /tmp/whoami. */
function listingsPod(t: TestEnv, dir: string, pod: string, o: { hostPort: number; webImage: string; annotation?: string }): string {
  const file = path.join(dir, `${pod}.yaml`);
  const app = (name: string) => `[sh, -c, 'echo ${name} > /tmp/whoami; exec sleep 3600']`;
  fs.writeFileSync(
    file,
    `apiVersion: v1
kind: Pod
metadata:
  name: ${pod}
${o.annotation ? `  annotations:\n    kubectl.kubernetes.io/default-container: ${o.annotation}\n` : ''}spec:
  hostname: lshost
  restartPolicy: Never
  initContainers:
    - name: setup
      image: busybox
      command: [sh, -c, 'echo setup > /shared/setup']
      volumeMounts: [{name: s, mountPath: /shared}]
    - name: proxy
      image: busybox
      restartPolicy: Always
      command: ${app('proxy')}
  containers:
    - name: web
      image: ${o.webImage}
      imagePullPolicy: Never
      command: ${app('web')}
      ports: [{containerPort: 80, hostPort: ${o.hostPort}, hostIP: 127.0.0.1}]
    - name: gate
      image: busybox
      command: ${app('gate')}
      readinessProbe:
        exec: {command: [test, -f, /tmp/ready]}
        periodSeconds: 1
  volumes: [{name: s, emptyDir: {}}]
`,
  );
  return file;
}

describe.skipIf(skipReason)('listings', () => {
  const t = useTestEnv();
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-it-listings-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Pulls a one-layer busybox image from an OCI layout into this test's store; returns its digest. */
  async function storedImage(name: string): Promise<string> {
    const layout = path.join(dir, 'layout');
    if (!fs.existsSync(layout)) writeOciLayout(layout, 'v1', { layers: [tarDir(BUSYBOX)], config: { Cmd: ['sh'] } });
    const pulled = JSON.parse(await t.ok(['pull', `oci:${layout}:v1`, '--name', name, '--json'])) as { digest: string };
    expect(pulled.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    return pulled.digest;
  }

  it('READY counts ready app containers and sidecars (a probe not yet passing is not), never init containers; ps marks init and sidecar; IP, ports, hostname everywhere', async () => {
    const pod = t.pod('ready');
    const digest = await storedImage('lsweb:1');
    const hostPort = await freePort();
    const file = listingsPod(t, dir, pod, { hostPort, webImage: 'lsweb:1' });

    // up --json: what a CI job reads
    const [up] = JSON.parse(await t.ok(['up', '-f', file, '--json'])) as UpView[];
    const pause = (await inspect(t, pod)).sandbox.pid;
    const ip = await ipInNetns(pause);
    expect(up).toMatchObject({ pod, outcome: 'created', ip, hostname: 'lshost', appContainers: 3 });
    expect(up!.ports).toEqual([{ hostPort, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' }]);
    const byName = Object.fromEntries(up!.containers.map((c) => [c.name, c]));
    expect(Object.keys(byName)).toEqual(['setup', 'proxy', 'web', 'gate']);
    expect(byName.setup).toMatchObject({ kind: 'init', state: 'exited', ready: false, pid: null, imageId: null });
    expect(byName.proxy).toMatchObject({ kind: 'sidecar', state: 'running', ready: true, image: 'busybox' });
    expect(byName.web).toMatchObject({ kind: 'app', state: 'running', ready: true, image: 'lsweb:1', imageId: digest });
    // gate's probe cannot pass yet (no /tmp/ready): running, not ready
    expect(byName.gate).toMatchObject({ kind: 'app', state: 'running', ready: false });
    expect(up!.readyContainers).toBe(2);
    // each pid is that container's process: its own file says so
    expect(readInContainer(byName.web!.pid!, '/tmp/whoami')).toBe('web\n');

    // pod ls: READY 2/3 (setup, the init container, is not counted; the sidecar is)
    const rows = JSON.parse(await t.ok(['pod', 'ls', '--json'])) as PodRow[];
    expect(rows.find((r) => r.name === pod)).toMatchObject({ readyContainers: 2, appContainers: 3, ip, hostname: 'lshost', ports: up!.ports });
    expect(await t.ok(['pod', 'ls'])).toMatch(new RegExp(`^${pod}\\s+Running\\s+2/3\\s`, 'm'));
    const wide = await t.ok(['pod', 'ls', '-o', 'wide']);
    expect(wide).toMatch(/^POD\s+STATE\s+READY\s+AGE\s+IP\s+PORTS\s+HOSTNAME\s+NETWORK$/m);
    expect(wide).toMatch(
      new RegExp(`^${pod}\\s+Running\\s+2/3\\s+\\S+\\s+${ip.replace(/\./g, '\\.')}\\s+127\\.0\\.0\\.1:${hostPort}->80/tcp\\s+lshost\\s+barepod$`, 'm'),
    );
    // -o json is --json
    expect(JSON.parse(await t.ok(['pod', 'ls', '-o', 'json']))).toEqual(JSON.parse(await t.ok(['pod', 'ls', '--json'])));

    // ps: init and sidecar marked; the JSON has the IP and each member's kind
    const ps = await t.ok(['ps', pod]);
    expect(ps).toMatch(new RegExp(`^${pod}\\s+setup \\(init\\)\\s+Completed \\(0\\)`, 'm'));
    expect(ps).toMatch(new RegExp(`^${pod}\\s+proxy \\(sidecar\\)\\s+Running\\s`, 'm'));
    expect(ps).toMatch(new RegExp(`^${pod}\\s+web\\s+Running\\s`, 'm'));
    expect(ps).toMatch(new RegExp(`^${pod}\\s+gate\\s+Running \\(not ready\\)`, 'm'));
    const psJson = JSON.parse(await t.ok(['ps', pod, '--json'])) as PsView;
    expect(psJson.pods[0]).toMatchObject({ ip, hostname: 'lshost', readyContainers: 2, appContainers: 3 });
    expect(psJson.pods[0]!.containers.map((c) => `${c.container}:${c.kind}`)).toEqual(['_pause:sandbox', 'setup:init', 'proxy:sidecar', 'web:app', 'gate:app']);
    expect(psJson.pods[0]!.containers.find((c) => c.container === 'web')!.imageId).toBe(digest);
    const psWide = await t.ok(['ps', pod, '-o', 'wide']);
    expect(psWide).toMatch(new RegExp(`^${pod}\\s+web\\s+Running\\s.*\\s${ip.replace(/\./g, '\\.')}\\s+80/tcp\\s+lsweb:1\\s`, 'm'));

    // the probe passes once gate has /tmp/ready: READY 3/3
    fs.writeFileSync(`/proc/${await pidOf(t, pod, 'gate')}/root/tmp/ready`, '');
    await eventually(async () => (JSON.parse(await t.ok(['pod', 'ls', '--json'])) as PodRow[]).find((r) => r.name === pod)?.readyContainers === 3);
    expect(await t.ok(['pod', 'ls'])).toMatch(new RegExp(`^${pod}\\s+Running\\s+3/3\\s`, 'm'));
    await t.ok(['down', '-f', file]);
  });

  it('a pod without a network: ip null, no ports; the hostname is the pod name', async () => {
    const pod = t.pod('nonet');
    await t.ok(['pod', 'create', pod, '--network', 'none']);
    const rows = JSON.parse(await t.ok(['pod', 'ls', '--json'])) as PodRow[];
    expect(rows.find((r) => r.name === pod)).toMatchObject({ ip: null, ports: [], hostname: pod, readyContainers: 0, appContainers: 0 });
    expect(await t.ok(['pod', 'ls', '-o', 'wide'])).toMatch(new RegExp(`^${pod}\\s+Running\\s+0/0\\s+\\S+\\s+-\\s+-\\s+${pod}\\s+none$`, 'm'));
    await t.ok(['pod', 'rm', '-f', pod]);
  });
});

describe.skipIf(skipReason)('exec -c and the default container', () => {
  const t = useTestEnv();
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-it-exec-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('-c runs in the named container, the positional form still works, the annotation names the default', async () => {
    const pod = t.pod('exec');
    const file = listingsPod(t, dir, pod, { hostPort: await freePort(), webImage: 'busybox', annotation: 'gate' });
    await t.ok(['up', '-f', file]);
    const gate = await pidOf(t, pod, 'gate');
    const web = await pidOf(t, pod, 'web');
    await eventually(() => readInContainer(gate, '/tmp/whoami') && readInContainer(web, '/tmp/whoami'));
    // judged by each container's own file (its own rootfs), and by the file exec writes landing in that container only
    expect(await t.ok(['exec', pod, '-c', 'web', '--', 'cat', '/tmp/whoami'])).toBe('web\n');
    expect(await t.ok(['exec', pod, '--container', 'proxy', '--', 'cat', '/tmp/whoami'])).toBe('proxy\n');
    await t.ok(['exec', pod, '-c', 'web', '--', 'sh', '-c', 'echo from-exec > /tmp/mark']);
    expect(readInContainer(web, '/tmp/mark')).toBe('from-exec\n');
    expect(readInContainer(gate, '/tmp/mark')).toBeUndefined();
    // today's positional form
    expect(await t.ok(['exec', pod, 'web', '--', 'cat', '/tmp/whoami'])).toBe('web\n');
    expect(await t.ok(['exec', pod, 'web', 'cat', '/tmp/whoami'])).toBe('web\n');
    // no container named: the annotation's (gate), though the pod has three that run
    expect(await t.ok(['exec', pod, '--', 'cat', '/tmp/whoami'])).toBe('gate\n');
    // the pod's hostname, seen from the exec'd process (the pod's UTS namespace)
    expect(await t.ok(['exec', pod, '-c', 'web', '--', 'hostname'])).toBe('lshost\n');
    // two names is a usage error that shows the -c form
    const two = await t.bp(['exec', pod, 'web', 'gate', '--', 'true']);
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/at most one container name goes there/);
    expect(two.stderr).toMatch(new RegExp(`hint: barepod exec ${pod} -c web -- gate true`));
    // the word before -- is checked as a container name, as -c is
    for (const args of [
      ['exec', pod, '../etc', '--', 'true'],
      ['exec', pod, '-c', '../etc', '--', 'true'],
    ]) {
      const r = await t.bp(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/invalid container name "\.\.\/etc"/);
    }
    // -c names a container the pod lacks: not found (3), the pod's containers listed
    const missing = await t.bp(['exec', pod, '-c', 'nope', '--', 'true']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/container "nope" not found in pod .*\nbarepod: hint: containers of the pod: setup, proxy, web, gate/);
    await t.ok(['down', '-f', file]);
  });

  it("the pod's only app container is the default (init containers do not count); several and no annotation: a usage error naming them; an annotation naming none: the same", async () => {
    const one = t.pod('one');
    await t.ok(['pod', 'create', one]);
    await t.ok(['run', '--pod', one, '--name', 'only', '--', 'sh', '-c', 'echo only > /tmp/whoami; exec sleep 3600']);
    const only = await pidOf(t, one, 'only');
    await eventually(() => readInContainer(only, '/tmp/whoami'));
    expect(await t.ok(['exec', one, '--', 'cat', '/tmp/whoami'])).toBe('only\n');

    await t.ok(['run', '--pod', one, '--name', 'second', '--', 'sleep', '3600']);
    const several = await t.bp(['exec', one, '--', 'true']);
    expect(several.code).toBe(2);
    expect(several.stderr).toMatch(
      new RegExp(
        `error: pod "${one}" has no default container: it has 2 containers \\(only, second\\) and no kubectl.kubernetes.io/default-container annotation`,
      ),
    );
    expect(several.stderr).toMatch(new RegExp(`hint: name one with -c: barepod exec ${one} -c only -- sh`));
    await t.ok(['pod', 'rm', '-f', one]);

    // an init container and one app container: the app is the default; an annotation naming no container is refused
    const manifest = (pod: string, annotation: string | undefined) => {
      const file = path.join(dir, `${pod}.yaml`);
      fs.writeFileSync(
        file,
        `apiVersion: v1
kind: Pod
metadata:
  name: ${pod}
${annotation ? `  annotations: {kubectl.kubernetes.io/default-container: ${annotation}}\n` : ''}spec:
  restartPolicy: Never
  initContainers: [{name: init, image: busybox, command: ['true']}]
  containers: [{name: app, image: busybox, command: [sh, -c, 'echo app > /tmp/whoami; exec sleep 3600']}]
`,
      );
      return file;
    };
    const withInit = t.pod('withinit');
    const good = manifest(withInit, undefined);
    await t.ok(['up', '-f', good]);
    const app = await pidOf(t, withInit, 'app');
    await eventually(() => readInContainer(app, '/tmp/whoami'));
    expect(await t.ok(['exec', withInit, '--', 'cat', '/tmp/whoami'])).toBe('app\n');
    await t.ok(['down', '-f', good]);

    const bad = t.pod('badann');
    const file = manifest(bad, 'ghost');
    await t.ok(['up', '-f', file]);
    const r = await t.bp(['exec', bad, '--', 'true']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/its annotation kubectl.kubernetes.io\/default-container names "ghost", which is not one of its containers/);
    await t.ok(['down', '-f', file]);
  });

  it('a program the container does not have: runc says so, exit 255, and the hint names the container and its PATH; no command at all: the hint shows the -c form', async () => {
    const pod = t.pod('nocmd');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    const r = await t.bp(['exec', pod, '-c', 'app', '--', 'no-such-tool', '--flag']);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/executable file not found in \$PATH/);
    expect(r.stderr).toMatch(
      new RegExp(
        `hint: "no-such-tool" is on no directory of container "app"'s PATH \\(/usr/local/sbin:[^)]*\\): its image does not have it; see what it has: barepod exec ${pod} -c app -- ls /bin /usr/bin`,
      ),
    );
    const abs = await t.bp(['exec', pod, '--', '/opt/tool']);
    expect(abs.code).toBe(255);
    expect(abs.stderr).toMatch(/hint: \/opt\/tool is not a file in container "app"/);
    // a program that exists but fails is its own exit status, with no hint
    const fails = await t.bp(['exec', pod, '--', 'sh', '-c', 'exit 255']);
    expect(fails.code).toBe(255);
    expect(fails.stderr).not.toMatch(/hint/);
    for (const [args, hint] of [
      [['exec', pod, '-c', 'app'], `barepod exec ${pod} -c app -- sh`],
      [['exec', pod, 'app'], `barepod exec ${pod} app -- sh`],
      [['exec', pod], `barepod exec ${pod} -- sh`],
    ] as const) {
      const none = await t.bp([...args]);
      expect(none.code).toBe(2);
      expect(none.stderr).toBe(`barepod: error: exec: no command given\nbarepod: hint: put it after --: ${hint}\n`);
    }
    await t.ok(['pod', 'rm', '-f', pod]);
  });
});

describe.skipIf(skipReason)('pod create --share', () => {
  const t = useTestEnv();

  it('+pid adds pid to the default (net,ipc,uts); a plain list replaces the default', async () => {
    const inodes = async (pod: string) => {
      const pause = (await inspect(t, pod)).sandbox.pid;
      const app = await pidOf(t, pod, 'app');
      return Object.fromEntries(['net', 'ipc', 'uts', 'pid'].map((ns) => [ns, nsInode(app, ns) === nsInode(pause, ns)]));
    };
    const plus = t.pod('plus');
    expect(await t.ok(['pod', 'create', plus, '--share', '+pid'])).toMatch(/shares net,ipc,uts,pid/);
    await t.ok(['run', '--pod', plus, '--name', 'app', '--', 'sleep', '3600']);
    expect(await inodes(plus)).toEqual({ net: true, ipc: true, uts: true, pid: true });

    const only = t.pod('only');
    expect(await t.ok(['pod', 'create', only, '--share', 'net,pid'])).toMatch(/shares net,pid/);
    await t.ok(['run', '--pod', only, '--name', 'app', '--', 'sleep', '3600']);
    expect(await inodes(only)).toEqual({ net: true, ipc: false, uts: false, pid: true });

    const mixed = await t.bp(['pod', 'create', t.pod('mixed'), '--share', 'net,+pid']);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/a \+ leads the whole list \(--share \+net,pid\)/);
    expect((await t.ok(['pod', 'create', '--help'])).replace(/\s+/g, ' ')).toMatch(/a list replaces the default net,ipc,uts; a list led by \+ adds to it/);
    await t.ok(['pod', 'rm', '-f', plus, only]);
  });
});

describe.skipIf(skipReason)('JSON that scripts can live on', () => {
  const t = useTestEnv();

  it('logs --json is JSON lines, one object per log line, as events --json', async () => {
    const pod = t.pod('lines');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sh', '-c', 'echo one; echo two >&2; exec sleep 3600']);
    const out = await eventually(async () => {
      const o = await t.ok(['logs', pod, '--json']);
      return o.split('\n').length === 3 && o;
    });
    expect(out.startsWith('{')).toBe(true);
    const lines = jsonLines(out) as { stream: string; text: string; container: string }[];
    expect(lines.map((l) => `${l.container} ${l.stream} ${l.text}`).sort()).toEqual(['app stderr two', 'app stdout one']);
    const events = await t.ok(['events', pod, '--json']);
    expect((jsonLines(events) as { type: string }[]).map((e) => e.type)).toContain('started');
    await t.ok(['pod', 'rm', '-f', pod]);
  });

  it('stop, start, rm, wait, down and pod rm take --json: their outcome as JSON (checked against their schemas), and a failure half-way keeps what was done in details', async () => {
    const pod = t.pod('verbs');
    await t.ok(['pod', 'create', pod]);
    await t.ok(['run', '--pod', pod, '--name', 'app', '--', 'sleep', '3600']);
    expect(JSON.parse(await t.ok(['wait', pod, '--json']))).toEqual([{ pod, condition: 'ready', met: true }]);
    const stopped = JSON.parse(await t.ok(['stop', pod, 'app', '--time', '1', '--json'])) as { state: string; exitCode: number | null };
    expect(stopped).toMatchObject({ pod, container: 'app', state: 'exited' });
    expect([137, 143]).toContain(stopped.exitCode); // sleep as PID 1 ignores SIGTERM: SIGKILL after the grace period
    const started = JSON.parse(await t.ok(['start', pod, 'app', '--json'])) as { pid: number };
    expect(started).toMatchObject({ pod, container: 'app', state: 'running' });
    expect(started.pid).toBe(await pidOf(t, pod, 'app'));
    expect(JSON.parse(await t.ok(['rm', '-f', pod, 'app', '--json']))).toEqual({ pod, container: 'app', removed: true });
    expect((await inspect(t, pod)).containers).toEqual([]);

    // pod rm of two pods, the second absent: the error object, the first pod's removal in its details, exit 3 as without --json
    const absent = t.pod('absent');
    const r = await t.bp(['pod', 'rm', pod, absent, '--json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toEqual({
      error: {
        code: 'not-found',
        message: `pod "${absent}" not found`,
        hint: 'list pods with `barepod ps`',
        exitCode: 3,
        details: { pods: [{ pod, outcome: 'removed' }] },
      },
    });
    expect(fs.existsSync(path.join(t.root, 'pods', pod))).toBe(false);
    expect(JSON.parse(await t.ok(['pod', 'rm', '-i', absent, '--json']))).toEqual([{ pod: absent, outcome: 'not-found' }]);
    expect(JSON.parse(await t.ok(['down', absent, '--json']))).toEqual([{ pod: absent, outcome: 'not-found' }]);
  });

  /** Every command with --json, and a call of it that fails (or, for doctor, one whose report exits non-zero). */
  function failingCalls(pod: string): Record<string, { args: string[]; env?: NodeJS.ProcessEnv; code: number; error?: string }> {
    return {
      'pod create': { args: ['pod', 'create', pod, '--memory', 'lots'], code: 2, error: 'invalid-value' },
      'pod ls': { args: ['--root', '/etc/passwd', 'pod', 'ls'], code: 5, error: 'unsafe-dir' },
      ps: { args: ['ps', pod], code: 3, error: 'not-found' },
      inspect: { args: ['inspect', pod], code: 3, error: 'not-found' },
      ns: { args: ['ns', pod], code: 3, error: 'not-found' },
      cgroups: { args: ['cgroups', pod], code: 3, error: 'not-found' },
      top: { args: ['top', pod], code: 3, error: 'not-found' },
      stats: { args: ['stats', pod], code: 3, error: 'not-found' },
      run: { args: ['run', '--pod', pod, '--name', 'app', '--', 'true'], code: 3, error: 'not-found' },
      logs: { args: ['logs', pod], code: 3, error: 'not-found' },
      events: { args: ['events', '--since', 'soon'], code: 2, error: 'invalid-value' },
      gc: { args: ['--root', '/etc/passwd', 'gc'], code: 5, error: 'unsafe-dir' },
      doctor: { args: ['doctor'], env: { BAREPOD_RUNC: '/nonexistent/runc' }, code: 5 },
      pull: { args: ['pull', 'oci:/nonexistent/layout:v1'], code: 3, error: 'not-found' },
      images: { args: ['images'], env: { BAREPOD_IMAGES: '/etc/passwd' }, code: 5, error: 'unsafe-dir' },
      rmi: { args: ['rmi', 'nope:1'], code: 3, error: 'not-found' },
      import: { args: ['import', '/nonexistent.tar', 'x:1'], code: 3, error: 'not-found' },
      'image inspect': { args: ['image', 'inspect', 'nope:1'], code: 3, error: 'not-found' },
      up: { args: ['up', '-f', '/nonexistent/pod.yaml'], code: 3, error: 'not-found' },
      export: { args: ['export', pod], code: 3, error: 'not-found' },
      stop: { args: ['stop', pod, 'app'], code: 3, error: 'not-found' },
      start: { args: ['start', pod, 'app'], code: 3, error: 'not-found' },
      rm: { args: ['rm', '-f', pod, 'app'], code: 3, error: 'not-found' },
      'pod rm': { args: ['pod', 'rm', pod], code: 3, error: 'not-found' },
      down: { args: ['down'], code: 2, error: 'usage' },
      wait: { args: ['wait', pod, '--timeout', '1s'], code: 3, error: 'not-found' },
      'network ls': { args: ['network', 'ls', '--bogus'], code: 2, error: 'usage' },
      'network inspect': { args: ['network', 'inspect', 'nope'], code: 3, error: 'not-found' },
      'volume ls': { args: ['volume', 'ls', '--bogus'], code: 2, error: 'usage' },
      'volume inspect': { args: ['volume', 'inspect', 'nope'], code: 3, error: 'not-found' },
      'volume rm': { args: ['volume', 'rm', 'Bad_Name'], code: 2, error: 'invalid-name' },
      'lab list': { args: ['lab', 'list', '--bogus'], code: 2, error: 'usage' },
      'lab check': { args: ['lab', 'check', '99'], code: 3, error: 'not-found' },
      'configmap ls': { args: ['configmap', 'ls', '--bogus'], code: 2, error: 'usage' },
      'configmap inspect': { args: ['configmap', 'inspect', `${pod}-cm`], code: 3, error: 'not-found' },
      'configmap rm': { args: ['configmap', 'rm', `${pod}-cm`], code: 3, error: 'not-found' },
      'secret ls': { args: ['secret', 'ls', '--bogus'], code: 2, error: 'usage' },
      'secret inspect': { args: ['secret', 'inspect', `${pod}-s`], code: 3, error: 'not-found' },
      'secret rm': { args: ['secret', 'rm', `${pod}-s`], code: 3, error: 'not-found' },
      'secret create': { args: ['secret', 'create', `${pod}-s`], code: 2, error: 'usage' },
    };
  }

  it('with --json, an error is one object on stdout (code, message, hint, exit code) for every command that has --json; exit codes as without it', async () => {
    const pod = t.pod('absent');
    const calls = failingCalls(pod);
    const withJson: string[] = [];
    const walk = (c: Command, prefix: string[]) => {
      for (const s of c.commands) {
        const words = [...prefix, s.name()];
        if (s.options.some((o) => o.long === '--json')) withJson.push(words.join(' '));
        walk(s, words);
      }
    };
    walk(buildProgram(), []);
    // a command that gains --json gets a row here
    expect(withJson.filter((c) => !(c in calls))).toEqual([]);
    const error = validatorOf('error');
    for (const [command, call] of Object.entries(calls)) {
      const plain = await t.bp(call.args, call.env);
      const dashes = call.args.indexOf('--');
      const json = await t.bp(dashes < 0 ? [...call.args, '--json'] : [...call.args.slice(0, dashes), '--json', ...call.args.slice(dashes)], call.env);
      expect(plain.code, `${command}: ${plain.stderr}`).toBe(call.code);
      expect(json.code, `${command}: ${json.stderr}`).toBe(call.code);
      // doctor: its report (the checks) is the output, which the harness checked against doctor.schema.json
      if (!call.error) continue;
      // the human text stays on stderr
      expect(json.stderr, command).toMatch(/barepod: error: |error: /);
      expect(json.stdout.endsWith('\n') && json.stdout.indexOf('\n') === json.stdout.length - 1, `${command}: one line: ${json.stdout}`).toBe(true);
      const value = JSON.parse(json.stdout) as { error: { code: string; message: string; hint: string | null; exitCode: number } };
      expect(error(value), `${command}: ${JSON.stringify(error.errors)}`).toBe(true);
      expect(value.error.code, command).toBe(call.error);
      expect(value.error.exitCode, command).toBe(call.code);
      expect(value.error).toHaveProperty('hint');
      // the same message as on stderr
      expect(json.stderr, command).toContain(value.error.message);
      expect(plain.stdout, `${command}: without --json nothing on stdout`).toBe('');
    }
  });
});
