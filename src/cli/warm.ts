/**
 * Warming a startup snapshot with the read commands. A call started from dist/barepod.blob finds every module
 * evaluated, but each function it runs for the first time is still compiled then (V8 keeps the bytecode only of
 * functions that ran while the snapshot was built): for `ps` with one pod that was ~4 ms of its ~6 ms of its own
 * work (commander's parse, the state root's checks, the record's read and reconcile, the table), each function
 * ~5-10× slower at its first call than at its second. Run at build time (src/cli/snapshot.ts), warmReadCommands
 * runs `ps`, `pod ls` and `inspect` through the CLI itself on a throwaway state root holding one made-up pod, so
 * the blob holds their bytecode.
 *
 * What it may not leave in the heap: nothing it reads is kept (the views are made and dropped, the records read
 * per call; module caches are keyed by pid or by the state root, see procfs.selfIdentity, paths.podPaths), it runs
 * no program (exec.ts keeps the first caller mark), writes only into its own temp dir (removed after) and never to
 * the real stdout or stderr: Node cannot keep a stream in a snapshot, so both are sinks while it runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_BACKOFF, DEFAULT_GRACE_SECONDS, DEFAULT_LOG_SIZE_MAX, RECORD_VERSION, type PodRecord } from '../model.js';
import { forgetPodPaths } from '../plan/paths.js';
import { forgetCallerMark } from '../runtime/exec.js';
import { forgetSelfIdentity, readStartTime } from '../runtime/procfs.js';

/** The pod the warm-up's state root holds. */
export const WARM_POD = 'warm';

/** The read commands warmed, after the program's own words (`--root DIR`). */
export const WARM_CALLS: readonly (readonly string[])[] = [['ps'], ['pod', 'ls'], ['inspect', WARM_POD], ['ps', '--json']];

/**
 * A record as `pod create` + `run` write it: its sandbox and container are this very process (alive, and gone
 * from the view once the build exits), so the views take the paths of a running pod.
 */
export function warmRecord(name: string, pid: number, startTime: string): PodRecord {
  const me = { pid, startTime };
  const at = new Date(0).toISOString();
  const rec: PodRecord = {
    version: RECORD_VERSION,
    def: {
      restartPolicy: 'Never',
      backoff: DEFAULT_BACKOFF,
      graceSeconds: DEFAULT_GRACE_SECONDS,
      logSizeMax: DEFAULT_LOG_SIZE_MAX,
      network: { kind: 'cni', name: 'barepod', ports: [] },
      name,
      hostname: name,
      share: ['net', 'ipc', 'uts'],
      limits: {},
    },
    createdAt: at,
    cgroupVersion: 1,
    sandbox: {
      id: `${name}._pause`,
      pid,
      startTime,
      namespaces: {},
      conmon: me,
      startedAt: at,
      launchId: '000000000000',
      network: {
        network: 'barepod',
        containerId: `barepod-warm-${name}`,
        ifname: 'eth0',
        netns: '/nonexistent',
        netnsInode: 1,
        ports: [],
        ip: '10.88.0.2',
        cidr: '10.88.0.2/16',
        gateway: '10.88.0.1',
        hostVeth: 'vethwarm',
        mac: '02:00:00:00:00:02',
      },
    },
    containers: [
      {
        def: {
          name: 'app',
          kind: 'app',
          image: 'busybox',
          rootfs: null,
          args: ['sleep', '1'],
          env: [],
          workdir: '/',
          user: { uid: 0, gid: 0 },
          limits: {},
          pidMode: 'pod',
          seccomp: 'default',
        },
        id: `${name}.app`,
        state: 'running',
        createdAt: at,
        startedAt: at,
        process: me,
        conmon: me,
        restarts: 0,
        desired: 'running',
        launchId: '000000000001',
        crashLoop: 0,
      },
    ],
    phase: 'Running',
    cgroupRoot: 'barepod-warm',
  };
  return rec;
}

/** A stand-in for process.stdout / process.stderr while warming: takes what is written, is no terminal. */
function sink(into: string[]): NodeJS.WriteStream {
  const s = {
    isTTY: false,
    write: (chunk: string | Uint8Array) => (into.push(String(chunk)), true),
    on: () => s,
    once: () => s,
  };
  return s as unknown as NodeJS.WriteStream;
}

/**
 * Runs each of WARM_CALLS through `run` (the CLI's main) on a throwaway state root; says what each returned and
 * wrote. Never throws: a warm-up that fails (a build not run as root) only leaves the snapshot cold.
 */
export async function warmReadCommands(
  run: (argv: string[]) => Promise<number>,
  calls: readonly (readonly string[])[] = WARM_CALLS,
): Promise<{ argv: string[]; code: number | undefined; out: string; err: string }[]> {
  const done: { argv: string[]; code: number | undefined; out: string; err: string }[] = [];
  const streams = (['stdout', 'stderr'] as const).map((name) => [name, Object.getOwnPropertyDescriptor(process, name)] as const);
  const exitCode = process.exitCode;
  let root: string | undefined;
  try {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-warm-'));
    const dir = path.join(root, 'pods', WARM_POD);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const rec = warmRecord(WARM_POD, process.pid, readStartTime(process.pid) ?? '0');
    fs.writeFileSync(path.join(dir, 'pod.json'), JSON.stringify(rec, null, 2) + '\n', { mode: 0o600 });
    for (const words of calls) {
      const out: string[] = [];
      const err: string[] = [];
      Object.defineProperty(process, 'stdout', { configurable: true, enumerable: true, value: sink(out) });
      Object.defineProperty(process, 'stderr', { configurable: true, enumerable: true, value: sink(err) });
      const argv = ['node', 'barepod', '--root', root, ...words];
      let code: number | undefined;
      try {
        code = await run(argv);
      } catch {
        code = undefined;
      }
      done.push({ argv, code, out: out.join(''), err: err.join('') });
    }
  } catch {
    // the temp dir could not be made: nothing warmed
  } finally {
    for (const [name, d] of streams) if (d) Object.defineProperty(process, name, d);
    process.exitCode = exitCode;
    if (root) fs.rmSync(root, { recursive: true, force: true });
    // and nothing of the builder's process or of the throwaway root stays in the heap the blob keeps
    forgetSelfIdentity();
    forgetCallerMark();
    forgetPodPaths();
  }
  return done;
}
