/**
 * One error hierarchy for the whole tool: a stable `code` for scripts, an
 * exit status for the shell, and a hint that says what to do next.
 */

/** Exit statuses; stable, documented in the README. */
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
  internal: ExitCode.failure,
};

/** The base of every error barepod reports on purpose. */
export class BarepodError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BarepodError';
    this.code = code;
    this.hint = options.hint;
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

/** Whether an error is the kernel saying the file system (or the quota) is full. */
export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || (err instanceof BarepodError && err.code === 'disk-full');
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

/** Turns anything thrown into a one-line message (plus hint) for the user. */
export function describeError(err: unknown): { message: string; hint?: string; exitCode: number; code: string } {
  if (err instanceof BarepodError) {
    return { message: err.message, ...(err.hint ? { hint: err.hint } : {}), exitCode: err.exitCode, code: err.code };
  }
  if (isNoSpace(err)) return describeError(diskFull((err as NodeJS.ErrnoException).path ?? `no space left on device (${(err as NodeJS.ErrnoException).syscall ?? 'write'})`, err));
  const message = err instanceof Error ? err.message : String(err);
  return { message, exitCode: ExitCode.failure, code: 'internal' };
}

/** Joins the primary failure with the failures of its undo steps, so neither is hidden. */
export function withUndoFailures(primary: unknown, undoErrors: unknown[]): unknown {
  if (undoErrors.length === 0) return primary;
  const first = describeError(primary);
  const undo = undoErrors.map((e) => describeError(e).message).join('; ');
  return new BarepodError('rollback-failed', `${first.message} (and rollback failed: ${undo})`, {
    hint: 'run `barepod pod rm -f <pod>` or `barepod doctor` to clean up what is left',
    cause: primary,
  });
}
