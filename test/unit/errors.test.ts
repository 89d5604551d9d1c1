import { describe, it, expect } from 'vitest';
import {
  BarepodError,
  ExitCode,
  RollbackError,
  ToolError,
  causeChain,
  describeChain,
  describeError,
  diskFull,
  errorJson,
  findCause,
  hasCode,
  isNoSpace,
  isUnexpected,
  withUndoFailures,
  wrap,
  type ErrorCode,
  withDetails,
} from '../../src/errors.js';

describe('BarepodError: exit code per code', () => {
  it.each<[ErrorCode, number]>([
    ['usage', 2],
    ['invalid-name', 2],
    ['invalid-value', 2],
    ['not-found', 3],
    ['already-exists', 4],
    ['busy', 4],
    ['invalid-state', 4],
    ['not-root', 5],
    ['missing-tool', 5],
    ['sandbox-gone', 6],
    ['tool-failed', 1],
    ['rollback-failed', 1],
    ['disk-full', 1],
    ['interrupted', 130],
    ['internal', 1],
  ])('%s exits %i', (code, exit) => {
    const e = new BarepodError(code, 'boom');
    expect(e.exitCode).toBe(exit);
    expect(e.code).toBe(code);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('BarepodError');
  });

  it('keeps the documented ExitCode table stable', () => {
    expect(ExitCode).toEqual({ ok: 0, failure: 1, usage: 2, notFound: 3, conflict: 4, prerequisite: 5, sandboxGone: 6, interrupted: 130 });
  });

  it('keeps hint and cause, and sets no cause when none is given', () => {
    const cause = new Error('root cause');
    const e = new BarepodError('not-found', 'pod "web" not found', { hint: 'run barepod ps', cause });
    expect(e.hint).toBe('run barepod ps');
    expect(e.cause).toBe(cause);
    const bare = new BarepodError('usage', 'x');
    expect(bare.hint).toBeUndefined();
    expect('cause' in bare).toBe(false);
  });
});

describe('ToolError', () => {
  it('names the tool by basename and quotes the last non-empty stderr line', () => {
    const e = new ToolError(['/usr/sbin/runc', '--root', '/run/x', 'create', 'p.c'], 'warning: a\nerror: no such file\n\n');
    expect(e.message).toBe('runc failed: error: no such file');
    expect(e.code).toBe('tool-failed');
    expect(e.exitCode).toBe(1);
    expect(e.argv).toEqual(['/usr/sbin/runc', '--root', '/run/x', 'create', 'p.c']);
    expect(e.stderr).toBe('warning: a\nerror: no such file\n\n');
    expect(e.name).toBe('ToolError');
    expect(e).toBeInstanceOf(BarepodError);
  });

  it('says so when there is no stderr, and accepts an explicit message and hint', () => {
    expect(new ToolError(['conmon'], '  \n').message).toBe('conmon failed: no error output');
    const e = new ToolError(['mount'], 'x', 'mounting the rootfs failed', 'check the image');
    expect(e.message).toBe('mounting the rootfs failed');
    expect(e.hint).toBe('check the image');
    expect(new ToolError([], '').message).toBe('tool failed: no error output');
  });
});

describe('describeError', () => {
  it('passes a BarepodError through with its code, exit code and hint', () => {
    expect(describeError(new BarepodError('busy', 'pod "web" is locked', { hint: 'wait' }))).toEqual({
      message: 'pod "web" is locked',
      hint: 'wait',
      exitCode: 4,
      code: 'busy',
    });
    expect(describeError(new BarepodError('busy', 'x'))).not.toHaveProperty('hint');
  });

  it.each<[string, unknown, string]>([
    ['a plain Error', new Error('ENOENT: no such file'), 'ENOENT: no such file'],
    ['a TypeError', new TypeError('x is not a function'), 'x is not a function'],
    ['a string', 'just text', 'just text'],
    ['a number', 42, '42'],
    ['undefined', undefined, 'undefined'],
    ['null', null, 'null'],
  ])('maps %s to an internal failure (exit 1)', (_what, err, message) => {
    expect(describeError(err)).toEqual({ message, exitCode: 1, code: 'internal' });
  });
});

describe('withUndoFailures', () => {
  it('returns the primary error itself when every undo succeeded', () => {
    const primary = new BarepodError('not-found', 'x');
    expect(withUndoFailures(primary, [])).toBe(primary);
  });

  it('joins the primary error with every undo failure, keeping the primary code and exit status', () => {
    const primary = new BarepodError('tool-failed', 'runc create failed');
    const joined = withUndoFailures(primary, [new Error('remove cgroup: EBUSY'), 'unmount: EINVAL']);
    expect(joined).toBeInstanceOf(RollbackError);
    const e = joined as RollbackError;
    expect(e.code).toBe('tool-failed');
    expect(e.exitCode).toBe(1);
    expect(e.message).toBe('runc create failed (and rollback failed: remove cgroup: EBUSY; unmount: EINVAL)');
    expect(e.cause).toBe(primary);
    expect(e.undoErrors).toHaveLength(2);
    expect(e.hint).toMatch(/barepod pod rm -f/);
  });

  it.each<[ErrorCode, number]>([
    ['usage', 2],
    ['not-found', 3],
    ['busy', 4],
    ['missing-tool', 5],
    ['sandbox-gone', 6],
    ['interrupted', 130],
  ])('a rollback that fails too keeps the primary %s (exit %i), and both hints', (code, exit) => {
    const primary = wrap(new BarepodError(code, 'inner', { hint: 'do this' }), 'pod "web"');
    const e = withUndoFailures(primary, [new Error('EBUSY')]) as BarepodError;
    expect([e.code, e.exitCode]).toEqual([code, exit]);
    expect(hasCode(e, code)).toBe(true);
    expect(e.hint).toMatch(/^do this; then run `barepod pod rm -f/);
    expect(describeError(e)).toMatchObject({ code, exitCode: exit, message: 'pod "web": inner (and rollback failed: EBUSY)' });
  });

  it('only a primary barepod did not classify becomes rollback-failed', () => {
    expect((withUndoFailures(new TypeError('x is undefined'), ['y']) as BarepodError).code).toBe('rollback-failed');
  });
});

describe('wrap and hasCode', () => {
  const tool = new ToolError(['/usr/sbin/runc', 'create', 'web.app'], 'level=error msg="container_linux.go: no such file"\n');

  it('wrap adds context and keeps the code, hint and cause', () => {
    const inner = new BarepodError('not-found', 'image nginx is not in the image store', { hint: 'barepod pull nginx' });
    const e = wrap(inner, 'pod "web", containers "app"');
    expect(e).toBeInstanceOf(BarepodError);
    expect(e.message).toBe('pod "web", containers "app": image nginx is not in the image store');
    expect([e.code, e.exitCode, e.hint, e.cause]).toEqual(['not-found', 3, 'barepod pull nginx', inner]);
  });

  it('wrap keeps a failed program (argv, stderr) reachable through the causes', () => {
    const e = wrap(wrap(tool, 'container "app"'), 'pod "web"');
    expect(e.message).toBe('pod "web": container "app": runc failed: level=error msg="container_linux.go: no such file"');
    expect(e.code).toBe('tool-failed');
    expect(findCause(e, ToolError)).toBe(tool);
    expect(causeChain(e)).toHaveLength(3);
  });

  it('wrap of an unclassified error: internal, or the fallback code and hint', () => {
    const fsErr = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    expect(wrap(fsErr, 'x').code).toBe('internal');
    const e = wrap(fsErr, 'cannot read m.yaml', { code: 'not-found', hint: 'check the path' });
    expect([e.code, e.exitCode, e.hint, e.message]).toEqual(['not-found', 3, 'check the path', 'cannot read m.yaml: ENOENT: no such file']);
    // a classified error's own code wins over the fallback; its hint too, the fallback's serves when it has none
    expect(wrap(new BarepodError('busy', 'locked', { hint: 'wait' }), 'x', { code: 'not-found', hint: 'other' })).toMatchObject({ code: 'busy', hint: 'wait' });
    expect(wrap(new BarepodError('busy', 'locked'), 'x', { hint: 'other' }).hint).toBe('other');
  });

  it('an unclassified error stays unexpected (the CLI says so) through any number of wraps, a classified one never', () => {
    expect(isUnexpected(new TypeError('x'))).toBe(true);
    expect(isUnexpected(wrap(wrap(new TypeError('x'), 'a'), 'b'))).toBe(true);
    expect(isUnexpected(wrap(new TypeError('x'), 'a', { code: 'not-found' }))).toBe(false);
    expect(isUnexpected(new BarepodError('internal', 'record unreadable', { cause: new SyntaxError('y') }))).toBe(false);
    expect(isUnexpected(Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }))).toBe(false);
  });

  it('isNoSpace: a bare ENOSPC or disk-full along the causes; not an ENOSPC another classification explains', () => {
    const enospc = Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
    expect(isNoSpace(enospc)).toBe(true);
    expect(isNoSpace(wrap(enospc, 'pod "web"'))).toBe(true);
    expect(isNoSpace(wrap(diskFull('/x'), 'pod "web"'))).toBe(true);
    expect(isNoSpace(new BarepodError('tool-failed', 'cannot write "1" to cgroup.procs', { cause: enospc }))).toBe(false);
  });

  it('wrap of a full disk is disk-full', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    const e = wrap(enospc, 'pod "web"');
    expect([e.code, e.message]).toEqual(['disk-full', 'pod "web": disk full: no space left on device (write)']);
  });

  it('hasCode walks causes (a plain Error wrapping one too), and is false for others', () => {
    const gone = new BarepodError('sandbox-gone', 'pod "web": its sandbox is gone');
    expect(hasCode(gone, 'sandbox-gone')).toBe(true);
    expect(hasCode(wrap(gone, 'restart app'), 'sandbox-gone')).toBe(true);
    expect(hasCode(withUndoFailures(wrap(gone, 'x'), ['y']), 'sandbox-gone')).toBe(true);
    expect(hasCode(new Error('outer', { cause: gone }), 'sandbox-gone')).toBe(true);
    expect(hasCode(gone, 'not-found')).toBe(false);
    expect(hasCode(new Error('x'), 'internal')).toBe(false);
    expect(hasCode(undefined, 'internal')).toBe(false);
  });

  it('describeError takes the code from the first classified cause, the message from the outermost', () => {
    expect(describeError(new Error('while doing x', { cause: new BarepodError('busy', 'locked', { hint: 'wait' }) }))).toEqual({
      message: 'while doing x',
      hint: 'wait',
      code: 'busy',
      exitCode: 4,
    });
  });

  it('a cause loop does not hang', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(causeChain(a)).toEqual([a, b]);
    expect(hasCode(a, 'busy')).toBe(false);
  });

  it('describeChain (for --debug) names every cause, the argv and stderr of a failed program, and each failed undo', () => {
    const undo = wrap(new ToolError(['umount', '/run/x y'], 'umount: target is busy\n'), 'unmount /run/x y');
    const lines = describeChain(withUndoFailures(wrap(tool, 'pod "web"'), [undo])).join('\n');
    expect(lines).toContain('RollbackError [tool-failed]: pod "web": runc failed');
    expect(lines).toContain('caused by: BarepodError [tool-failed]: pod "web": runc failed');
    expect(lines).toContain('caused by: ToolError [tool-failed]: runc failed');
    expect(lines).toContain('command: /usr/sbin/runc create web.app');
    expect(lines).toContain('container_linux.go: no such file');
    expect(lines).toContain('undo failed:');
    expect(lines).toContain("command: umount '/run/x y'");
    expect(lines).toContain('umount: target is busy');
  });

  it('describeChain shows each failed step of an aggregate (a removal that failed in several places)', () => {
    const e = new BarepodError('tool-failed', 'pod "web" was not removed completely: a; b', {
      cause: new AggregateError([wrap(tool, 'stop web.app'), new Error('EBUSY')], 'the removal steps that failed'),
    });
    const lines = describeChain(e).join('\n');
    expect(lines).toContain('caused by: AggregateError: the removal steps that failed');
    expect(lines).toMatch(/failed:\n\s+BarepodError \[tool-failed\]: stop web.app: runc failed/);
    expect(lines).toContain('command: /usr/sbin/runc create web.app');
    expect(lines).toMatch(/failed:\n\s+Error: EBUSY/);
  });

  it('errorJson is the --json object: code, message, hint (null when none), exit code', () => {
    expect(errorJson(new BarepodError('not-found', 'pod "x" not found', { hint: 'barepod ps' }))).toEqual({
      error: { code: 'not-found', message: 'pod "x" not found', hint: 'barepod ps', exitCode: 3 },
    });
    expect(errorJson(new Error('boom'))).toEqual({ error: { code: 'internal', message: 'boom', hint: null, exitCode: 1 } });
  });

  it('withDetails: the same failure (message, code, hint, exit status) with what was done before it in the --json details; an unexpected error stays unexpected', () => {
    const e = wrap(new BarepodError('not-found', 'pod "b" not found', { hint: 'barepod ps' }), 'pod rm');
    const d = withDetails(e, { pods: [{ pod: 'a', outcome: 'removed' }] });
    expect(errorJson(d)).toEqual({
      error: {
        code: 'not-found',
        message: 'pod rm: pod "b" not found',
        hint: 'barepod ps',
        exitCode: 3,
        details: { pods: [{ pod: 'a', outcome: 'removed' }] },
      },
    });
    expect(hasCode(d, 'not-found')).toBe(true);
    const boom = new Error('boom');
    expect(withDetails(boom, { pods: [] })).toBe(boom);
    expect(isUnexpected(withDetails(wrap(boom, 'pod rm'), {}))).toBe(true);
  });
});

describe('a full disk', () => {
  it('an ENOSPC from node is "disk full: <path>" with a hint, exit 1 (disk-full), never an unexpected error', () => {
    const e = Object.assign(new Error("ENOSPC: no space left on device, open '/run/barepod/pods/web/pod.json.1.tmp'"), {
      code: 'ENOSPC',
      syscall: 'open',
      path: '/run/barepod/pods/web/pod.json.1.tmp',
    });
    const d = describeError(e);
    expect(d).toMatchObject({ message: 'disk full: /run/barepod/pods/web/pod.json.1.tmp', code: 'disk-full', exitCode: 1 });
    expect(d.hint).toMatch(/free space .*pod rm -f POD.*gc/);
  });

  it('one without a path (a write on an fd) still says disk full', () => {
    const e = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    expect(describeError(e)).toMatchObject({ message: 'disk full: no space left on device (write)', code: 'disk-full', exitCode: 1 });
  });

  it('diskFull names the file and keeps what failed', () => {
    const cause = new Error('x');
    const e = diskFull('/run/barepod/runc', cause, 'runc create web.app failed: unable to store init state');
    expect(e.message).toBe('disk full: /run/barepod/runc (runc create web.app failed: unable to store init state)');
    expect([e.code, e.exitCode, e.cause]).toEqual(['disk-full', 1, cause]);
  });
});
