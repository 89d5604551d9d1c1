/**
 * `up --wait` and `wait --for ready` fail at once, not at their timeout, when
 * a container has ended for good (restartPolicy Never): the error names the
 * container, its exit code and its last log lines. The same for an init
 * container. The timeouts are far longer than vitest's limit for each test,
 * so a command that waited them out fails the test (by its timeout, which is
 * a failure, never a timing assertion).
 */
import { describe, expect, it } from 'vitest';
import { eventually, podManifest, skipReason, type TestEnv, useTestEnv } from '../helpers/harness.js';

/** Writes a manifest of one pod (grace period 1 s) into the test's root. */
const manifest = (t: TestEnv, name: string, body: string): string => podManifest(t, name, `  terminationGracePeriodSeconds: 1\n${body}`);

const FAST = 60_000; // well under the 600 s the commands are given

describe.skipIf(skipReason)('wait fails fast under restartPolicy Never', () => {
  const t = useTestEnv();

  it(
    'up --wait: an app container that exits 3 fails it at once with the container, exit code 3 and its last log line',
    async () => {
      const pod = t.pod('never');
      const file = manifest(
        t,
        pod,
        `  restartPolicy: Never
  containers:
    - name: web
      image: busybox
      command: [sleep, "3600"]
    - name: app
      image: busybox
      command: [sh, -c, "echo starting; echo 'fatal: no database at db:5432' >&2; exit 3"]
`,
      );
      const r = await t.bp(['up', '-f', file, '--wait', '--timeout', '600s']);
      expect(r.code).not.toBe(0);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe(`pod/${pod} created\n`);
      expect(r.stderr).toContain(`pod "${pod}" will not become ready: container "app" exited with 3`);
      expect(r.stderr).toContain('fatal: no database at db:5432');
      expect(r.stderr).not.toContain('not ready after');
      // and `wait` says the same at once
      const w = await t.bp(['wait', pod, '--for', 'ready', '--timeout', '600s']);
      expect(w.code).toBe(1);
      expect(w.stderr).toContain(`container "app" exited with 3`);
      expect(w.stderr).toContain('fatal: no database at db:5432');
      await t.ok(['down', pod]);
    },
    FAST,
  );

  it(
    'up --wait: an app container that exits 0 under Never is never taken for ready',
    async () => {
      const pod = t.pod('done');
      const file = manifest(
        t,
        pod,
        `  restartPolicy: Never
  containers:
    - name: app
      image: busybox
      command: [sh, -c, "echo all done; exit 0"]
`,
      );
      const r = await t.bp(['up', '-f', file, '--wait', '--timeout', '600s']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`container "app" exited with 0 (Completed)`);
      expect(r.stderr).toContain('all done');
      await t.ok(['down', pod]);
    },
    FAST,
  );

  it(
    'up --wait: a failing init container fails at once with its exit code and last log line',
    async () => {
      const pod = t.pod('init');
      const file = manifest(
        t,
        pod,
        `  restartPolicy: Never
  initContainers:
    - name: migrate
      image: busybox
      command: [sh, -c, "echo 'migration 7 failed: table exists' >&2; exit 3"]
  containers:
    - name: app
      image: busybox
      command: [sleep, "3600"]
`,
      );
      const r = await t.bp(['up', '-f', file, '--wait', '--timeout', '600s']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`init container "migrate" exited with 3`);
      expect(r.stderr).toContain('migration 7 failed: table exists');
      const w = await t.bp(['wait', pod, '--for', 'ready', '--timeout', '600s']);
      expect(w.code).toBe(1);
      expect(w.stderr).toContain('init container "migrate" exited with 3');
      await t.ok(['down', pod]);
    },
    FAST,
  );

  it(
    'wait: a restartable container (Always) is still waited for; one that recovers makes the pod ready',
    async () => {
      const pod = t.pod('always');
      const file = manifest(
        t,
        pod,
        `  restartPolicy: Always
  containers:
    - name: app
      image: busybox
      command: [sh, -c, "[ -e /dev/shm/once ] && exec sleep 3600; touch /dev/shm/once; exit 3"]
`,
      );
      await t.ok(['up', '-f', file, '--wait', '--timeout', '60s']);
      await eventually(async () => (await t.ok(['ps', pod])).includes('Running'));
      await t.ok(['down', pod]);
    },
    FAST,
  );
});
