import fs from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { DeadlineError, diskFull, ToolError } from '../errors.js';
import { launch, trace } from './exec.js';
import { fileSystemFull } from './state.js';
import { conmonWords, shellWords } from '../plan/narration.js';
import { explain, explaining, explainResult, explainRun } from './explain.js';

export interface ConmonCreate {
  conmon: string;
  runc: string;
  runcRoot: string;
  id: string;
  name: string;
  bundle: string;
  pidFile: string;
  conmonPidFile: string;
  exitDir: string;
  logPath: string;
  logSizeMax: number;
  /** a terminal: conmon makes the pty (runc --console-socket) and keeps its master; input comes through the attach socket */
  terminal?: boolean;
  /** the container's stdin is a pipe fed through the attach socket (without a terminal) */
  stdin?: boolean;
  /** stdin closes once the first attached client leaves (Kubernetes stdinOnce) */
  stdinOnce?: boolean;
  /** run by conmon once the container has exited and its exit file is written (conmon waits for it) */
  exitCommand?: string[];
  /**
   * Called with conmon's pid before its start pipe is released (conmon waits
   * on it before forking anything): moves it into a cgroup of barepod's own, so
   * it does not live and die with the caller's session. A throw ends conmon.
   */
  place?: (pid: number) => void | Promise<void>;
}

/** What a successful create gives back: the container's init pid and its monitor's pid. */
export interface Created {
  pid: number;
  conmonPid: number;
}

/**
 * Creates a container through conmon, the monitor podman and CRI-O use: conmon
 * runs `runc create`, becomes the container's subreaper, keeps its stdout and
 * stderr in a CRI log, and writes the exit code to `<exitDir>/<id>`.
 * Protocol: env _OCI_SYNCPIPE=3/_OCI_STARTPIPE=4; closing fd 4 lets conmon go
 * on; it answers one JSON line on fd 3: {"data": pid} or {"data": -1, "message"}.
 * conmon keeps fd 3 open afterwards, so we stop reading after that line.
 */
export async function conmonCreate(o: ConmonCreate): Promise<Created> {
  const argv = [
    o.conmon,
    '--api-version',
    '1',
    '-c',
    o.id,
    '-u',
    o.id,
    '-n',
    o.name,
    '-r',
    o.runc,
    '-b',
    o.bundle,
    '-p',
    o.pidFile,
    '-P',
    o.conmonPidFile,
    '--exit-dir',
    o.exitDir,
    '-l',
    `k8s-file:${o.logPath}`,
    '--log-size-max',
    String(o.logSizeMax),
    '--full-attach',
    '--runtime-arg',
    '--root',
    '--runtime-arg',
    o.runcRoot,
    // conmon drops its "oom" file in its working directory (the bundle, below) and here
    '--persist-dir',
    o.bundle,
    ...conmonStdioArgs(o),
  ];
  const [exitBin, ...exitArgs] = o.exitCommand ?? [];
  if (exitBin) argv.push('--exit-command', exitBin, ...exitArgs.flatMap((a) => ['--exit-command-arg', a]));
  const started = performance.now();
  if (explaining) {
    explainRun(`_OCI_SYNCPIPE=3 _OCI_STARTPIPE=4 ${conmonWords(argv)}`);
    explain(
      `conmon runs ${shellWords([o.runc, '--root', o.runcRoot, 'create', '--bundle', o.bundle, '--pid-file', o.pidFile, o.id])}, stays as the container's monitor (subreaper, log ${o.logPath}) and writes its exit code to ${o.exitDir}/${o.id}`,
    );
  }
  // its own process group: the deadline (BAREPOD_TIMEOUT_CONMON, until its reply) kills conmon and the runc it runs
  const run = launch(argv, {
    outlives: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'],
    cwd: o.bundle,
    env: { ...process.env, _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4' },
    detached: true,
    program: 'conmon',
    label: `conmon -c ${o.id} (running ${o.runc.split('/').pop()} create --bundle ${o.bundle} ${o.id})`,
    missingHint: 'run scripts/setup (installs conmon)',
  });
  const child = run.child;
  trace(`conmon ${o.id}: spawned`, started);
  const sync = child.stdio[3] as Readable;
  const start = child.stdio[4] as Writable;
  start.on('error', () => {}); // conmon gone before reading it: its exit tells why
  // an early exit without a reply reads as an empty line (below); a deadline or a missing program rejects
  const failed = run.exited.then(() => new Promise<never>(() => {}));
  try {
    if (o.place && child.pid !== undefined) {
      try {
        await o.place(child.pid);
      } catch (e) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // gone already
        }
        throw e;
      }
      trace(`conmon ${o.id}: placed in the monitor cgroup`, started);
    }
    start.end();
    const line = await Promise.race([readLine(sync), failed]).catch((e: unknown) => {
      // conmon's monitor half (the pid in its pid file) runs in a session of its own (setsid): end it and the runc it runs too
      if (e instanceof DeadlineError) killSession(readPidFile(o.conmonPidFile));
      throw e;
    });
    let reply: { data?: number; message?: string };
    try {
      reply = JSON.parse(line) as { data?: number; message?: string };
    } catch {
      throw new ToolError(argv, line, `conmon gave an unreadable reply for ${o.id}: ${line.slice(0, 200) || '(nothing)'}`);
    }
    if (typeof reply.data !== 'number' || reply.data <= 0) {
      const msg = cleanRuncMessage(reply.message ?? '');
      // runc 1.1 does not always say so ("unable to store init state: %!w(<nil>)"): a full file system says it for it
      if (/no space left on device|disk quota exceeded/i.test(msg) || fileSystemFull(o.runcRoot) || fileSystemFull(o.bundle)) {
        // runc could not write its state (or a file of the bundle): name the file when runc did
        const file = /(\/[^\s:"]+):? (?:[^/]*: )?no space left on device/i.exec(msg)?.[1] ?? (fileSystemFull(o.bundle) ? o.bundle : o.runcRoot);
        throw diskFull(file, new ToolError(argv, reply.message ?? '', `runc create ${o.id} failed: ${msg}`), `runc create ${o.id} failed: ${msg}`);
      }
      throw new ToolError(argv, reply.message ?? '', `runc create ${o.id} failed: ${msg || 'no reason given'}`);
    }
    trace(`conmon (runc create) ${o.id}`, started);
    const conmonPid = readPidFile(o.conmonPidFile) ?? -1;
    if (explaining) explainResult(`created ${o.id}: its process is pid ${reply.data} (runc init, waiting for \`runc start\`); conmon is pid ${conmonPid}`);
    return { pid: reply.data, conmonPid };
  } finally {
    sync.destroy();
    run.release();
  }
}

/**
 * conmon's flags for the container's terminal and stdin (measured with conmon
 * 2.1.6): `-t` alone takes input from every attached client, for as long as
 * the container runs; `-t -i` stops taking it once the first client leaves;
 * `-i` without a terminal gives the container a pipe whose end comes when a
 * client shuts its write side or leaves, unless `--leave-stdin-open`.
 */
export function conmonStdioArgs(o: Pick<ConmonCreate, 'terminal' | 'stdin' | 'stdinOnce'>): string[] {
  if (o.terminal) return o.stdin && o.stdinOnce ? ['--terminal', '--stdin'] : ['--terminal'];
  if (o.stdin) return o.stdinOnce ? ['--stdin'] : ['--stdin', '--leave-stdin-open'];
  return [];
}

/** SIGKILL to a process's own session/process group (conmon after its setsid) and to the process itself. */
function killSession(pid: number | undefined): void {
  if (!pid) return;
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** runc's logrus line ('time=... level=error msg="..."') down to its message. */
export function cleanRuncMessage(message: string): string {
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(message);
  const text = m ? m[1]!.replace(/\\"/g, '"').replace(/\\\\/g, '\\') : message;
  return text.trim();
}

function readLine(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const done = (fn: () => void) => {
      stream.removeAllListeners('data');
      stream.removeAllListeners('end');
      fn();
    };
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) done(() => resolve(buf.slice(0, nl)));
    });
    stream.on('end', () => done(() => resolve(buf)));
    stream.on('error', (e) => done(() => reject(e)));
  });
}

/** A pid file's number, or undefined. */
export function readPidFile(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where conmon writes the exit file of one launch of a member: the launch's
 * own directory, `<exits>/<launch id>`, so a previous instance's conmon, which
 * may write its file late (it reaps, lets `runc delete` go on, then writes),
 * never writes where the current instance is read. A launch an older build
 * made (no launch id, or no directory of its own) wrote `<exits>/<runc id>`.
 */
export function exitDirOf(exits: string, launchId: string | undefined): string {
  const dir = launchExitDir(exits, launchId);
  return dir !== undefined && fs.existsSync(dir) ? dir : exits;
}

/** A launch's own exit dir (whether or not it exists); undefined without a launch id barepod made (hex). */
export const launchExitDir = (exits: string, launchId: string | undefined): string | undefined =>
  launchId !== undefined && /^[0-9a-f]+$/.test(launchId) ? `${exits}/${launchId}` : undefined;

/** Removes a launch's own exit dir (never the pod's `exits` itself, which an older build's launches write). */
export function removeLaunchExitDir(exits: string, launchId: string | undefined): void {
  const dir = launchExitDir(exits, launchId);
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
}

/** The exit code conmon recorded for a container, or undefined while it has not exited. */
export function readExitFile(exitDir: string, id: string): number | undefined {
  try {
    const text = fs.readFileSync(`${exitDir}/${id}`, 'utf8').trim();
    if (text === '') return undefined;
    const n = Number(text);
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}
