/**
 * One error hierarchy for the whole tool: a stable `code` for scripts, an
 * exit status for the shell, and a hint that says what to do next.
 *
 * Errors keep their class as context is added: `wrap(e, 'pod "web"')` makes
 * a new error whose message starts with the context, whose code and hint are
 * those of `e` (or of the first classified error among its causes), and whose
 * `cause` is `e` (ES2022), so the failing program's argv and stderr stay
 * reachable. `hasCode(e, code)` walks the causes: test codes with it, never
 * with `e.code ===` on the outermost object. A rollback whose own undo steps
 * fail keeps the primary error's code (and so its exit status); the undo
 * failures are joined to the message and kept in `undoErrors`.
 *
 * What a user (or a script) sees of an error (src/cli/main.ts):
 * - stderr: `barepod: error: MESSAGE` and `barepod: hint: HINT`; with
 *   `--debug`, the whole chain too: every cause's message and, for a program
 *   that failed, its argv and stderr; and every failed undo step's.
 * - the exit status: `exitCode` of the code (the table below, documented in docs/man/barepod.1.md, EXIT STATUS).
 * - with `--json`: also one line on stdout,
 *   `{"error":{"code":CODE,"message":MESSAGE,"hint":HINT,"exitCode":N}}`
 *   (`hint` null when there is none; `details` when the command did work
 *   before it failed: gc's actions), so a script reads the code without
 *   parsing English. The human text stays on stderr, as kubectl does with
 *   `-o json`. A usage error found while parsing the command line (an
 *   unknown option) has code `usage`.
 */

/** Exit statuses; stable, documented in docs/man/barepod.1.md (EXIT STATUS). */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  conflict: 4,
  prerequisite: 5,
  sandboxGone: 6,
  interrupted: 130,
} as const;

export type ErrorCode =
  | 'usage'
  | 'invalid-name'
  | 'invalid-value'
  | 'not-found'
  | 'already-exists'
  | 'busy'
  | 'invalid-state'
  | 'not-root'
  | 'missing-tool'
  | 'sandbox-gone'
  | 'tool-failed'
  | 'unauthorized'
  | 'unreachable'
  | 'corrupt'
  | 'unsafe-layer'
  | 'unsafe-rootfs'
  | 'unsafe-dir'
  | 'disk-full'
  | 'rollback-failed'
  | 'interrupted'
  | 'timeout'
  | 'container-config'
  | 'job-failed'
  | 'internal';

const exitFor: Record<ErrorCode, number> = {
  usage: ExitCode.usage,
  'invalid-name': ExitCode.usage,
  'invalid-value': ExitCode.usage,
  'not-found': ExitCode.notFound,
  'already-exists': ExitCode.conflict,
  busy: ExitCode.conflict,
  'invalid-state': ExitCode.conflict,
  'not-root': ExitCode.prerequisite,
  'missing-tool': ExitCode.prerequisite,
  'sandbox-gone': ExitCode.sandboxGone,
  'tool-failed': ExitCode.failure,
  unauthorized: ExitCode.failure,
  unreachable: ExitCode.failure,
  corrupt: ExitCode.failure,
  'unsafe-layer': ExitCode.failure,
  'unsafe-rootfs': ExitCode.failure,
  'unsafe-dir': ExitCode.prerequisite,
  'disk-full': ExitCode.failure,
  'rollback-failed': ExitCode.failure,
  interrupted: ExitCode.interrupted,
  timeout: ExitCode.failure,
  'container-config': ExitCode.failure,
  'job-failed': ExitCode.failure,
  internal: ExitCode.failure,
};

/** The base of every error barepod reports on purpose. */
export class BarepodError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** what the command did before it failed, for `--json` (gc: the actions of its sweep) */
  readonly details: unknown;
  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown; details?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BarepodError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }
  /** The process exit status this error maps to. */
  get exitCode(): number {
    return exitFor[this.code];
  }
}

/** An external program (runc, conmon, mount, ...) failed: keeps its argv and stderr. */
export class ToolError extends BarepodError {
  readonly argv: string[];
  readonly stderr: string;
  constructor(argv: string[], stderr: string, message?: string, hint?: string) {
    const tool = argv[0]?.split('/').pop() ?? 'tool';
    const detail = stderr.trim().split('\n').filter(Boolean).pop() ?? '';
    super('tool-failed', message ?? `${tool} failed: ${detail || 'no error output'}`, hint === undefined ? {} : { hint });
    this.name = 'ToolError';
    this.argv = argv;
    this.stderr = stderr;
  }
}

/** The error and its causes (`cause`, ES2022), outermost first; stops at a loop or after 32. */
export function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e: unknown = err; e !== undefined && e !== null && chain.length < 32 && !chain.includes(e);) {
    chain.push(e);
    e = e instanceof Error ? e.cause : undefined;
  }
  return chain;
}

/** The first error of the chain that is an instance of `cls` (a ToolError deep down, say). */
export function findCause<T>(err: unknown, cls: abstract new (...args: never[]) => T): T | undefined {
  return causeChain(err).find((e): e is T => e instanceof cls);
}

/** Whether the error, or any of its causes, is a BarepodError with this code. */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  return causeChain(err).some((e) => e instanceof BarepodError && e.code === code);
}

/** An external program did not finish within its deadline and was killed: keeps its argv. */
export class DeadlineError extends BarepodError {
  readonly argv: string[];
  readonly timeoutMs: number;
  constructor(argv: string[], timeoutMs: number, message: string, hint?: string) {
    super('timeout', message, hint === undefined ? {} : { hint });
    this.name = 'DeadlineError';
    this.argv = argv;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Whether an error is the kernel saying the file system (or the quota) is
 * full: an ENOSPC itself, or an error classified `disk-full` anywhere along
 * the causes. An ENOSPC deep under another classification is not: a cgroup
 * file answers ENOSPC for an empty cpuset, and cgroupfs calls that tool-failed.
 */
export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || hasCode(err, 'disk-full');
}

/** The first error of the chain barepod classified (a full disk counts: it becomes `disk-full`). */
function classified(err: unknown): BarepodError | undefined {
  for (const e of causeChain(err)) {
    if (e instanceof BarepodError) return e;
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return noSpaceError(e as NodeJS.ErrnoException);
  }
  return undefined;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Adds context to an error without losing its class: the result's message is
 * `CONTEXT: MESSAGE`, its code and hint are those of `err` (or of its first
 * classified cause), and its cause is `err`. `fallback` gives the code (and
 * hint) when nothing along the chain is classified (a plain fs error, say);
 * without one, such an error stays `internal`. The fallback hint also serves
 * a classified error that has none.
 */
export function wrap(err: unknown, context: string, fallback: { code?: ErrorCode; hint?: string } = {}): BarepodError {
  const inner = classified(err);
  const hint = inner?.hint ?? fallback.hint;
  const wrapped = new BarepodError(inner?.code ?? fallback.code ?? 'internal', `${context}: ${describeError(err).message}`, {
    ...(hint === undefined ? {} : { hint }),
    cause: err,
  });
  if (inner ? unclassified.has(inner) : fallback.code === undefined) unclassified.add(wrapped);
  return wrapped;
}

/** Errors made by wrap around an error nobody classified: still unexpected, only with context. */
const unclassified = new WeakSet<object>();

/** Whether nothing along the chain classified the error (a bug, or a case barepod does not know): the CLI says so. */
export function isUnexpected(err: unknown): boolean {
  const inner = classified(err);
  return inner === undefined || unclassified.has(inner);
}

/**
 * The error for a write that found its file system full: `disk full: <path>`,
 * with what to do. Removal (`pod rm -f`, `down`, `rm -f`) and `gc` work on a
 * full state root, so they are the way out.
 */
export function diskFull(file: string, cause?: unknown, detail?: string): BarepodError {
  return new BarepodError('disk-full', `disk full: ${file}${detail ? ` (${detail})` : ''}`, {
    hint: 'free space on its file system (see `df -h` of that path): `barepod pod rm -f POD`, `barepod down`, `barepod rm -f POD CONTAINER` and `barepod gc` work on a full disk and free what they remove',
    cause,
  });
}

const noSpaceError = (e: NodeJS.ErrnoException): BarepodError => diskFull(e.path ?? `no space left on device (${e.syscall ?? 'write'})`, e);

/**
 * Turns anything thrown into a one-line message (plus hint) for the user: the
 * code, hint and exit status of the first classified error along the causes;
 * the message of the outermost one, which carries the context.
 */
export function describeError(err: unknown): { message: string; hint?: string; exitCode: number; code: string } {
  const inner = classified(err);
  if (!inner) return { message: messageOf(err), exitCode: ExitCode.failure, code: 'internal' };
  // a bare ENOSPC is told as "disk full: PATH"; a wrapped one keeps its context
  const message = err instanceof BarepodError || inner.cause !== err ? messageOf(err) : inner.message;
  return { message, ...(inner.hint ? { hint: inner.hint } : {}), exitCode: inner.exitCode, code: inner.code };
}

/**
 * The object `--json` prints on stdout for an error: `{"error": {code, message, hint, exitCode, details?}}`
 * (hint null when there is nothing to suggest)
 * (docs/schemas/error.schema.json); `details` is what the outermost error carries of the work done before it.
 */
export function errorJson(err: unknown): { error: { code: string; message: string; hint: string | null; exitCode: number; details?: unknown } } {
  const d = describeError(err);
  const details = err instanceof BarepodError ? err.details : undefined;
  return { error: { code: d.code, message: d.message, hint: d.hint ?? null, exitCode: d.exitCode, ...(details !== undefined ? { details } : {}) } };
}

/**
 * The same failure (message, code, hint, exit status) carrying what the
 * command did before it, for `--json`'s `details` (a `pod rm a b` that
 * removed a before b failed). An error nobody classified stays as it is: it
 * must still be reported as unexpected.
 */
export function withDetails(err: unknown, details: unknown): unknown {
  const d = describeError(err);
  if (isUnexpected(err)) return err;
  return new BarepodError(d.code as ErrorCode, d.message, { ...(d.hint ? { hint: d.hint } : {}), cause: err, details });
}

/** A primary failure whose rollback failed too: the primary's code and exit status, the undo failures in the message and in `undoErrors`. */
export class RollbackError extends BarepodError {
  readonly undoErrors: unknown[];
  constructor(code: ErrorCode, message: string, options: { hint?: string; cause: unknown; undoErrors: unknown[] }) {
    super(code, message, { ...(options.hint === undefined ? {} : { hint: options.hint }), cause: options.cause });
    this.name = 'RollbackError';
    this.undoErrors = options.undoErrors;
  }
}

const CLEANUP_HINT = 'run `barepod pod rm -f <pod>` or `barepod doctor` to clean up what is left';

/**
 * Joins the primary failure with the failures of its undo steps, so neither is
 * hidden. The primary error keeps its class: its code (so a missing image
 * still exits 3, a gone sandbox 6), with the clean-up hint added to its own;
 * only a primary barepod did not classify becomes `rollback-failed`.
 */
export function withUndoFailures(primary: unknown, undoErrors: unknown[]): unknown {
  if (undoErrors.length === 0) return primary;
  const first = describeError(primary);
  const undo = undoErrors.map((e) => describeError(e).message).join('; ');
  const code = first.code === 'internal' ? 'rollback-failed' : (first.code as ErrorCode);
  return new RollbackError(code, `${first.message} (and rollback failed: ${undo})`, {
    hint: first.hint ? `${first.hint}; then ${CLEANUP_HINT}` : CLEANUP_HINT,
    cause: primary,
    undoErrors,
  });
}

/**
 * What `--debug` prints of an error: the outermost message, then every cause
 * (`caused by:`), a failed program's argv and stderr under it, and each failed
 * undo step of a rollback with its own causes.
 */
export function describeChain(err: unknown, indent = ''): string[] {
  const lines: string[] = [];
  causeChain(err).forEach((e, i) => {
    const label = e instanceof BarepodError ? `${e.name} [${e.code}]` : e instanceof Error ? e.name : typeof e;
    lines.push(`${indent}${i === 0 ? '' : 'caused by: '}${label}: ${messageOf(e)}`);
    if (e instanceof ToolError) {
      lines.push(`${indent}  command: ${e.argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')}`);
      const stderr = e.stderr.trimEnd();
      if (stderr) lines.push(`${indent}  stderr:`, ...stderr.split('\n').map((l) => `${indent}    ${l}`));
      else lines.push(`${indent}  stderr: (empty)`);
    }
    if (e instanceof RollbackError) {
      for (const u of e.undoErrors) lines.push(`${indent}  undo failed:`, ...describeChain(u, `${indent}    `));
    }
    if (e instanceof AggregateError) {
      for (const u of e.errors) lines.push(`${indent}  failed:`, ...describeChain(u, `${indent}    `));
    }
  });
  return lines;
}
