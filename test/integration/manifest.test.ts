/**
 * Declarative pods on real runc: the examples up and behaving (a signal
 * received, a file served, limits in the cgroups), idempotent up, change
 * detection, init containers, wait, security context, host namespaces,
 * volumes, and invalid manifests leaving nothing behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { INVALID } from '../fixtures/manifests.js';
import {
  cgroupLimit,
  cgroupVersion,
  eventually,
  inspect,
  nsInode,
  pidOf,
  readInContainer,
  REPO,
  run,
  skipReason,
  type TestEnv,
  useTestEnv,
} from '../helpers/harness.js';

/** An example manifest with the pod renamed into this test's prefix. */
function example(t: TestEnv, file: string, name: string): string {
  const text = fs.readFileSync(path.join(REPO, 'examples', file), 'utf8').replace(/^  name: .*$/m, `  name: ${name}`);
  const out = path.join(t.root, file);
  fs.writeFileSync(out, text);
  return out;
}

/** Writes a manifest of one pod into the test's root. */
function manifest(t: TestEnv, name: string, body: string): string {
  const file = path.join(t.root, `${name}.yaml`);
  fs.mkdirSync(t.root, { recursive: true });
  fs.writeFileSync(file, `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n${body}`);
  return file;
}

const status = (pid: number, field: string) => new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.trim();

describe.skipIf(skipReason)('manifests', () => {
  const t = useTestEnv();

  it('example shared-pid (seed 004): the renewer sends SIGHUP to the web server in another container', async () => {
    const pod = t.pod('sharedpid');
    const file = example(t, 'shared-pid.yaml', pod);
    expect(await t.ok(['up', '-f', file])).toBe(`pod/${pod} created\n`);
    await eventually(async () => (await t.ok(['logs', pod, 'web'])).includes('got SIGHUP: reloading certificates'), 20_000, 'the web server to get SIGHUP');
    expect(await t.ok(['logs', pod, 'renewer'])).toMatch(/renewed; web server is pid \d+ of: .*1 pause/);
    const v = await inspect(t, pod);
    const web = await pidOf(t, pod, 'web');
    const renewer = await pidOf(t, pod, 'renewer');
    expect(nsInode(web, 'pid')).toBe(nsInode(v.sandbox.pid, 'pid'));
    expect(nsInode(renewer, 'pid')).toBe(nsInode(v.sandbox.pid, 'pid'));
    expect(await t.ok(['down', '-f', file])).toBe(`pod/${pod} removed\n`);
  });

  it('example sidecar (seed 002): an init container seeds, a downloader fills the emptyDir, the web server serves it, the ambassador reads it on 127.0.0.1', async () => {
    const pod = t.pod('sidecar');
    const file = example(t, 'sidecar.yaml', pod);
    await t.ok(['up', '-f', file, '--wait', '--timeout', '60s']);
    await eventually(async () => /\[ambassador\] page \d+ from the downloader/.test(await t.ok(['logs', pod])), 20_000, 'the ambassador to read a page');
    const ps = JSON.parse(await t.ok(['ps', pod, '--json'])) as { pods: { containers: { container: string; status: string }[] }[] };
    expect(ps.pods[0]!.containers.map((c) => [c.container, c.status])).toEqual([
      ['_pause', 'Running'],
      ['seed', 'Completed'],
      ['web', 'Running'],
      ['downloader', 'Running'],
      ['ambassador', 'Running'],
    ]);
    // medium: Memory is a tmpfs capped at sizeLimit, shared by the containers that mount it
    const vol = path.join(t.root, 'pods', pod, 'volumes', 'html');
    const mount = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[4] === vol);
    expect(mount).toMatch(/ - tmpfs emptydir-html .*size=16384k/);
    expect(readInContainer(await pidOf(t, pod, 'web'), '/var/www/html/index.html')).toMatch(/page \d+ from the downloader/);
    await t.ok(['down', pod]);
  });

  it("example memory-limits (seed 003): the pod limit on the parent, each container's on its child", async () => {
    const pod = t.pod('limits');
    const file = example(t, 'memory-limits.yaml', pod);
    await t.ok(['up', '-f', file]);
    // the files of this host's cgroup version (v1: memory.limit_in_bytes, cpu.cfs_quota_us; v2: memory.max, cpu.max)
    expect(cgroupLimit(`${t.cgroupRoot}/${pod}`, 'memoryLimit')).toBe(String(256 << 20));
    expect(cgroupLimit(`${t.cgroupRoot}/${pod}/app`, 'memoryLimit')).toBe(String(64 << 20));
    expect(cgroupLimit(`${t.cgroupRoot}/${pod}/cache`, 'memoryLimit')).toBe(String(128 << 20));
    expect(cgroupLimit(`${t.cgroupRoot}/${pod}/app`, 'cpuQuota')).toBe(cgroupVersion === 2 ? '50000 100000' : '50000');
    await t.ok(['down', '-f', file]);
  });

  it('up twice is a no-op; a changed manifest is refused naming what differs, and replaced when told to', async () => {
    const pod = t.pod('idem');
    const file = manifest(t, pod, '  containers:\n    - name: app\n      image: busybox\n      command: [sleep, "3600"]\n');
    await t.ok(['up', '-f', file]);
    const first = await pidOf(t, pod, 'app');
    expect(await t.ok(['up', '-f', file])).toBe(`pod/${pod} unchanged\n`);
    expect(await pidOf(t, pod, 'app')).toBe(first);
    manifest(t, pod, '  containers:\n    - name: app\n      image: busybox\n      command: [sleep, "7200"]\n');
    const changed = await t.bp(['up', '-f', file]);
    expect(changed.code).toBe(4);
    expect(changed.stderr).toContain(`pod "${pod}" already exists and differs from the manifest: spec.containers[0].command[1]`);
    expect(await pidOf(t, pod, 'app')).toBe(first);
    expect(await t.ok(['up', '-f', file, '--replace'])).toContain(`pod/${pod} replaced`);
    expect(await pidOf(t, pod, 'app')).not.toBe(first);
    expect(await t.ok(['export', pod])).toContain('- sleep\n        - "7200"');
    await t.ok(['down', pod]);
    expect(await t.ok(['down', pod])).toBe(`pod/${pod} not found (already down)\n`);
  });

  it('a failing init container stops the pod from starting: up fails, no app container ran, the pod is Failed until down', async () => {
    const pod = t.pod('initfail');
    const file = manifest(
      t,
      pod,
      '  restartPolicy: Never\n  initContainers:\n    - name: migrate\n      image: busybox\n      command: [sh, -c, "echo migration failed >&2; exit 3"]\n  containers:\n    - name: app\n      image: busybox\n      command: [sleep, "3600"]\n',
    );
    const r = await t.bp(['up', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`pod "${pod}": init container "migrate" exited with 3; the app containers were not started`);
    const ps = JSON.parse(await t.ok(['ps', pod, '--json'])) as { pods: { state: string; containers: { container: string }[] }[] };
    expect(ps.pods[0]!.state).toBe('Failed');
    expect(ps.pods[0]!.containers.map((c) => c.container)).toEqual(['_pause', 'migrate']);
    expect(await t.ok(['logs', pod, 'migrate'])).toBe('');
    const w = await t.bp(['wait', pod, '--for', 'ready', '--timeout', '5s']);
    expect(w.code).toBe(1);
    expect(w.stderr).toContain('will not become ready: the pod is Failed: init container "migrate" exited with 3');
    await t.ok(['down', '-f', file]);
  });

  it('an init container that fails once is retried under restartPolicy OnFailure, then the app starts', async () => {
    const pod = t.pod('initretry');
    const file = manifest(
      t,
      pod,
      '  restartPolicy: OnFailure\n  initContainers:\n    - name: once\n      image: busybox\n      command: [sh, -c, "[ -e /dev/shm/tried ] && exit 0; touch /dev/shm/tried; exit 1"]\n  containers:\n    - name: app\n      image: busybox\n      command: [sleep, "3600"]\n',
    );
    // the first retry waits the pod's initial backoff (10 s, the kubelet's)
    await t.ok(['up', '-f', file]);
    const ps = JSON.parse(await t.ok(['ps', pod, '--json'])) as { pods: { containers: { container: string; status: string; restarts: number }[] }[] };
    expect(ps.pods[0]!.containers.map((c) => [c.container, c.status])).toEqual([
      ['_pause', 'Running'],
      ['once', 'Completed'],
      ['app', 'Running'],
    ]);
    await t.ok(['down', pod]);
  }, 60_000);

  it('wait --for ready returns once every app container runs; it fails at once saying why when a container ended for good', async () => {
    const pod = t.pod('wait');
    const file = manifest(
      t,
      pod,
      '  restartPolicy: Never\n  containers:\n    - name: app\n      image: busybox\n      command: [sleep, "3600"]\n    - name: quitter\n      image: busybox\n      command: [sh, -c, "exit 2"]\n',
    );
    await t.ok(['up', '-f', file]);
    await eventually(async () => (await t.ok(['ps', pod])).includes('Error (2)'));
    const w = await t.bp(['wait', pod, '--for', 'ready', '--timeout', '1s']);
    expect(w.code).toBe(1);
    expect(w.stderr).toContain(
      `pod "${pod}" will not become ready: container "quitter" exited with 2 (Error) and its restart policy Never does not restart it; it wrote no output`,
    );
    await t.ok(['rm', pod, 'quitter']);
    expect(await t.ok(['wait', pod, '--for', 'ready', '--timeout', '5s'])).toBe(`pod/${pod} ready\n`);
    await t.ok(['down', pod]);
    expect(await t.ok(['wait', pod, '--for', 'delete', '--timeout', '5s'])).toBe(`pod/${pod} deleted\n`);
  });

  it('securityContext: runAsUser/Group, read-only root, dropped and added capabilities, privileged', async () => {
    const pod = t.pod('secctx');
    const file = manifest(
      t,
      pod,
      `  containers:
    - name: user
      image: busybox
      command: [sh, -c, "touch /x 2> /tmp/err || true; exec sleep 3600"]
      securityContext: {runAsUser: 1000, runAsGroup: 2000, readOnlyRootFilesystem: true}
    - name: bare
      image: busybox
      command: [sleep, "3600"]
      securityContext: {capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}}
    - name: root
      image: busybox
      command: [sleep, "3600"]
      securityContext: {privileged: true}
`,
    );
    await t.ok(['up', '-f', file]);
    const user = await pidOf(t, pod, 'user');
    expect(status(user, 'Uid')?.split(/\s+/)[0]).toBe('1000');
    expect(status(user, 'Gid')?.split(/\s+/)[0]).toBe('2000');
    expect(status(user, 'NoNewPrivs')).toBe('1');
    const bare = await pidOf(t, pod, 'bare');
    expect(status(bare, 'CapEff')).toBe('0000000000000400'); // NET_BIND_SERVICE only
    const root = await pidOf(t, pod, 'root');
    expect(status(root, 'CapEff')).toBe(status(process.pid, 'CapBnd')); // every capability barepod itself may hand out
    expect(status(root, 'Seccomp')).toBe('0');
    expect(status(root, 'NoNewPrivs')).toBe('0');
    // a read-only root: nothing may be written outside the writable mounts (the fresh /tmp is the image's, read-only too)
    expect(await t.bp(['exec', pod, 'user', '--', 'touch', '/y'])).toMatchObject({ code: 1 });
    expect((await t.bp(['exec', pod, 'user', '--', 'touch', '/y'])).stderr).toMatch(/Read-only file system/);
    await t.ok(['down', pod]);
  });

  it("hostPID and hostIPC use the host's namespaces (inspect says host)", async () => {
    const pod = t.pod('hostns');
    const file = manifest(t, pod, '  hostPID: true\n  hostIPC: true\n  containers:\n    - name: app\n      image: busybox\n      command: [sleep, "3600"]\n');
    await t.ok(['up', '-f', file]);
    const app = await pidOf(t, pod, 'app');
    expect(nsInode(app, 'pid')).toBe(nsInode(process.pid, 'pid'));
    expect(nsInode(app, 'ipc')).toBe(nsInode(process.pid, 'ipc'));
    expect(nsInode(app, 'net')).not.toBe(nsInode(process.pid, 'net'));
    const v = JSON.parse(await t.ok(['inspect', pod, '--json'])) as { containers: { namespaces: Record<string, { host: boolean }> }[] };
    expect(v.containers[0]!.namespaces.pid!.host).toBe(true);
    expect(v.containers[0]!.namespaces.ipc!.host).toBe(true);
    expect(v.containers[0]!.namespaces.net!.host).toBe(false);
    // POSIX shared memory is a file in /dev/shm, not an IPC-namespace object: a hostIPC pod gets the host's /dev/shm, as with containerd
    const shm = path.join('/dev/shm', `${pod}.txt`);
    fs.writeFileSync(shm, 'from the host\n');
    try {
      expect((await t.bp(['exec', pod, 'app', '--', 'cat', shm])).stdout).toBe('from the host\n');
    } finally {
      fs.rmSync(shm, { force: true });
    }
    await t.ok(['down', pod]);
  });

  it('hostPath: DirectoryOrCreate makes the directory and the container writes into it; a missing Directory is refused before anything is made', async () => {
    const pod = t.pod('hostpath');
    const dir = path.join(t.root, 'host-data', 'made');
    const file = manifest(
      t,
      pod,
      `  volumes:\n    - name: data\n      hostPath: {path: ${dir}, type: DirectoryOrCreate}\n  containers:\n    - name: app\n      image: busybox\n      command: [sh, -c, "echo from-the-pod > /data/out; exec sleep 3600"]\n      volumeMounts: [{name: data, mountPath: /data}]\n`,
    );
    await t.ok(['up', '-f', file]);
    expect(await eventually(() => fs.existsSync(path.join(dir, 'out')) && fs.readFileSync(path.join(dir, 'out'), 'utf8'))).toBe('from-the-pod\n');
    await t.ok(['down', pod]);
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(true); // a hostPath is the host's: never removed
    const bad = t.pod('hostpath2');
    const badFile = manifest(
      t,
      bad,
      `  volumes:\n    - name: data\n      hostPath: {path: ${path.join(t.root, 'absent')}, type: Directory}\n  containers:\n    - name: app\n      image: busybox\n      command: [sleep, "3600"]\n      volumeMounts: [{name: data, mountPath: /data}]\n`,
    );
    const r = await t.bp(['up', '-f', badFile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`volume "data": hostPath ${path.join(t.root, 'absent')} does not exist (type Directory requires it)`);
    expect(fs.existsSync(path.join(t.root, 'pods', bad))).toBe(false);
  });

  it('an invalid manifest: exit 2, every problem with its field path, no stack trace, nothing created', async () => {
    const pod = t.pod('invalid');
    const file = manifest(
      t,
      pod,
      '  containers:\n    - name: app\n      image: busybox\n      resources: {limits: {memory: 12Qi}}\n      volumeMounts: [{name: nope, mountPath: /x}]\n',
    );
    const r = await t.bp(['up', '-f', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${file}: 2 problems:\n  spec.containers[0].volumeMounts[0].name: "nope" is not a volume of this pod (spec.volumes)\n  spec.containers[0].resources.limits.memory: "12Qi" is not a Kubernetes quantity`,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(t.root, 'pods'))).toBe(false);
    const dry = await t.bp(['up', '-f', file, '--dry-run']);
    expect(dry.code).toBe(2);
  });

  it('--dry-run prints the plan and makes nothing', async () => {
    const pod = t.pod('dry');
    const file = example(t, 'sidecar.yaml', pod);
    const plan = JSON.parse(await t.ok(['up', '-f', file, '--dry-run', '--json'])) as {
      pod: string;
      cgroupParent: string;
      members: { name: string; joins?: string[] }[];
    }[];
    expect(plan[0]!.pod).toBe(pod);
    expect(plan[0]!.cgroupParent).toBe(`/${t.cgroupRoot}/${pod}`);
    expect(plan[0]!.members.map((m) => m.name)).toEqual(['_pause', 'seed', 'web', 'downloader', 'ambassador']);
    expect(plan[0]!.members[2]!.joins).toEqual(['/proc/<pause pid>/ns/net', '/proc/<pause pid>/ns/ipc', '/proc/<pause pid>/ns/uts']);
    expect(fs.existsSync(path.join(t.root, 'pods'))).toBe(false);
  });

  it("a native sidecar (init container, restartPolicy Always) runs before the app's first line, and stops after the app", async () => {
    const pod = t.pod('natside');
    const order = path.join(t.root, 'order');
    fs.mkdirSync(order, { recursive: true });
    const file = manifest(
      t,
      pod,
      `  shareProcessNamespace: true
  terminationGracePeriodSeconds: 10
  volumes: [{name: log, hostPath: {path: ${order}, type: Directory}}]
  initContainers:
    - name: proxy
      image: busybox
      restartPolicy: Always
      command: [sh, -c, "trap 'sleep 1; echo proxy >> /log/order; exit 0' TERM; while :; do sleep 0.2; done"]
      volumeMounts: [{name: log, mountPath: /log}]
  containers:
    - name: app
      image: busybox
      command: [sh, -c, "ps -o comm,args | grep -q 'sleep 0.2' && echo proxy-was-running || echo proxy-missing; trap 'echo app >> /log/order; exit 0' TERM; while :; do sleep 0.2; done"]
      volumeMounts: [{name: log, mountPath: /log}]
`,
    );
    await t.ok(['up', '-f', file]);
    expect(await eventually(async () => (await t.ok(['logs', pod, 'app'])) || undefined)).toBe('proxy-was-running\n');
    const exported = await t.ok(['export', pod]);
    expect(exported).toMatch(/initContainers:\n\s+- name: proxy[\s\S]*restartPolicy: Always/);
    await t.ok(['down', pod]);
    // the app got its SIGTERM first; the sidecar only once the app was gone (its own trap sleeps first, so a parallel stop would show it anyway)
    expect(fs.readFileSync(path.join(order, 'order'), 'utf8')).toBe('app\nproxy\n');
  });

  it("hostNetwork uses the host's network namespace", async () => {
    const pod = t.pod('hostnet');
    const file = manifest(t, pod, '  hostNetwork: true\n  containers:\n    - name: app\n      image: busybox\n      command: [sleep, "3600"]\n');
    await t.ok(['up', '-f', file]);
    const app = await pidOf(t, pod, 'app');
    expect(nsInode(app, 'net')).toBe(nsInode(process.pid, 'net'));
    expect(nsInode(app, 'uts')).not.toBe(nsInode(process.pid, 'uts'));
    await t.ok(['down', pod]);
  });

  it('generate systemd: a unit systemd-analyze accepts, running up on a stored copy of the manifest and down on stop', async () => {
    const pod = t.pod('unit');
    const file = manifest(t, pod, '  containers:\n    - name: app\n      image: busybox\n      command: [sleep, "3600"]\n');
    await t.ok(['up', '-f', file]);
    const store = path.join(t.root, 'manifests');
    const unit = await t.ok(['generate', 'systemd', pod, '--manifest-dir', store]);
    expect(unit).toContain(`ExecStart=${path.join(REPO, 'bin', 'barepod')} --root ${t.root} up -f ${path.join(store, `${pod}.yaml`)} --wait --timeout 120s`);
    expect(unit).toContain(`ExecStop=${path.join(REPO, 'bin', 'barepod')} --root ${t.root} down ${pod}`);
    const unitFile = path.join(t.root, `barepod-${pod}.service`);
    fs.writeFileSync(unitFile, unit);
    const verify = await run('systemd-analyze', ['verify', unitFile]);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    // the stored copy is the pod's manifest: up from it is a no-op
    expect(await t.ok(['up', '-f', path.join(store, `${pod}.yaml`)])).toBe(`pod/${pod} unchanged\n`);
    await t.ok(['down', pod]);
  });

  it('readiness (httpGet): wait --for ready returns once the probe succeeds; a probe that never succeeds fails wait at its timeout, saying why', async () => {
    const pod = t.pod('ready');
    const file = manifest(
      t,
      pod,
      `  containers:
    - name: web
      image: busybox
      command: [sh, -c, "mkdir -p /www && exec httpd -f -p 127.0.0.1:8080 -h /www"]
      readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
    - name: broken
      image: busybox
      command: [sh, -c, "mkdir -p /www && exec httpd -f -p 127.0.0.1:9090 -h /www"]
      readinessProbe: {httpGet: {path: /missing, port: 9090}, periodSeconds: 1, failureThreshold: 1}
`,
    );
    await t.ok(['up', '-f', file]);
    const notYet = JSON.parse(await t.ok(['ps', pod, '--json'])) as { pods: { containers: { container: string; ready: boolean }[] }[] };
    expect(notYet.pods[0]!.containers.find((c) => c.container === 'web')!.ready).toBe(false); // no /healthz yet
    // now it has one (made here, not after a sleep: the prober may probe at once, and a loaded host may take longer than any sleep)
    await t.ok(['exec', pod, 'web', '--', 'sh', '-c', 'echo ok > /www/healthz']);
    const w = await t.bp(['wait', pod, '--for', 'ready', '--timeout', '8s']);
    expect(w.code).toBe(1);
    expect(w.stderr).toMatch(/not ready after 8s: broken is not ready \(readiness probe: HTTP 404 from \/missing\)/);
    const ps = JSON.parse(await t.ok(['ps', pod, '--json'])) as { pods: { containers: { container: string; ready: boolean }[] }[] };
    expect(ps.pods[0]!.containers.map((c) => [c.container, c.ready])).toEqual([
      ['_pause', true],
      ['web', true],
      ['broken', false],
    ]);
    expect(await t.ok(['ps', pod])).toMatch(/broken\s+Running \(not ready\)/);
    await t.ok(['rm', '-f', pod, 'broken']);
    expect(await t.ok(['wait', pod, '--for', 'ready', '--timeout', '10s'])).toBe(`pod/${pod} ready\n`);
    await t.ok(['down', pod]);
  });

  it('liveness (exec): a failing probe kills the container and its policy restarts it; a pod without probes has no prober', async () => {
    const pod = t.pod('live');
    const file = manifest(
      t,
      pod,
      `  terminationGracePeriodSeconds: 1
  containers:
    - name: app
      image: busybox
      command: [sh, -c, "touch /tmp/healthy; sleep 1; rm /tmp/healthy; exec sleep 3600"]
      livenessProbe: {exec: {command: [test, -e, /tmp/healthy]}, periodSeconds: 1, failureThreshold: 2}
`,
    );
    await t.ok(['up', '-f', file]);
    const rec = JSON.parse(fs.readFileSync(path.join(t.root, 'pods', pod, 'pod.json'), 'utf8')) as { prober?: { pid: number } };
    expect(rec.prober?.pid).toBeGreaterThan(0);
    // the prober lives in the pod's network namespace
    expect(nsInode(rec.prober!.pid, 'net')).toBe(nsInode((await inspect(t, pod)).sandbox.pid, 'net'));
    await eventually(
      async () => {
        const ps = JSON.parse(await t.ok(['ps', pod, '--json'])) as { pods: { containers: { container: string; restarts: number }[] }[] };
        return ps.pods[0]!.containers[1]!.restarts >= 1;
      },
      30_000,
      'a restart after the liveness probe failed',
    );
    const evs = (await t.ok(['events', pod, '--json']))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; message?: string });
    expect(evs.find((e) => e.type === 'unhealthy')?.message).toMatch(/liveness probe failed 2 times: test -e \/tmp\/healthy exited with 1/);
    await t.ok(['down', pod]);
    const plain = t.pod('noprobe');
    await t.ok(['up', '-f', manifest(t, plain, '  containers:\n    - name: app\n      image: busybox\n      command: [sleep, "3600"]\n')]);
    const rec2 = JSON.parse(fs.readFileSync(path.join(t.root, 'pods', plain, 'pod.json'), 'utf8')) as { prober?: unknown };
    expect(rec2.prober).toBeUndefined();
    await t.ok(['down', plain]);
  });

  it(`every invalid manifest of the table (${INVALID.length}) through the CLI: exit 2, its problems with their field paths, no stack trace, nothing created`, async () => {
    fs.mkdirSync(t.root, { recursive: true });
    for (const [what, text, expected] of INVALID) {
      const file = path.join(t.root, 'invalid.yaml');
      // the pod names become this test's, so a wrongly accepted manifest would be caught by the leak check too
      fs.writeFileSync(file, text.replace(/name: web\b/g, `name: ${t.pod('web')}`).replace(/name: db\b/g, `name: ${t.pod('db')}`));
      const r = await t.bp(['up', '-f', file]);
      expect(r.code, what).toBe(2);
      expect(r.stderr, what).not.toMatch(/\n\s+at /);
      for (const want of expected) expect(r.stderr, what).toContain(want.replace(/"web"/g, `"${t.pod('web')}"`).split(': ')[0]!);
      expect(fs.existsSync(path.join(t.root, 'pods')), what).toBe(false);
    }
  }, 120_000);
});
