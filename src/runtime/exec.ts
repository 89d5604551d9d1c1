import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { BarepodError, ToolError } from '../errors.js';
import { shellWords } from '../plan/narration.js';
import { explainFailure, explaining, explainRun } from './explain.js';

/**
 * Runs an external program to completion and returns its stdout; a failure
 * becomes a ToolError carrying argv and stderr. Plain child_process on
 * purpose: this is the hot path of every command, and execa's import alone
 * costs more than a `runc start` (measured: ~160 ms of CPU per CLI call).
 */
/**
 * With BAREPOD_TRACE=1, every external program and its duration go to stderr
 * (what barepod really does, and what it costs); BAREPOD_TRACE=FILE appends
 * them to that file instead, which also traces the exit handlers conmon runs.
 */
const traceTo = process.env.BAREPOD_TRACE ?? '';
export const tracing = traceTo !== '' && traceTo !== '0';
const t0 = performance.now();

/** Writes one trace line: ms since start, duration, what ran. */
export function trace(what: string, startedAt: number): void {
  if (!tracing) return;
  const line = `[trace ${process.pid} ${(performance.now() - t0).toFixed(1)}ms +${(performance.now() - startedAt).toFixed(1)}ms] ${what}\n`;
  if (traceTo === '1') process.stderr.write(line);
  else fs.appendFileSync(traceTo, line);
}

export function runTool(argv: string[], options: { input?: string; hint?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<string> {
  const [file, ...args] = argv;
  if (!file) return Promise.reject(new Error('runTool: empty argv'));
  const started = performance.now();
  if (explaining) explainRun(shellWords(argv) + (options.input !== undefined ? ' < (input)' : ''));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(options.env ? { env: options.env } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(new BarepodError('missing-tool', `${file} not found`, { hint: options.hint ?? 'run scripts/setup' }));
      else reject(new ToolError(argv, e.message, undefined, options.hint));
    });
    child.once('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8').replace(/\n$/, '');
      const stderr = Buffer.concat(err).toString('utf8');
      trace(argv.join(' '), started);
      if (code === 0) resolve(stdout);
      else {
        if (explaining) explainFailure(`${file} exited with ${signal ?? code}: ${(stderr || stdout).trim().split('\n')[0] ?? ''}`);
        reject(new ToolError(argv, stderr || stdout || `exited with ${signal ?? code}`, undefined, options.hint));
      }
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}
