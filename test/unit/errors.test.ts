import { describe, it, expect } from 'vitest';
import { BarepodError, ExitCode, ToolError, describeError, diskFull, withUndoFailures, type ErrorCode } from '../../src/errors.js';

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

  it('joins the primary error with every undo failure under rollback-failed', () => {
    const primary = new BarepodError('tool-failed', 'runc create failed');
    const joined = withUndoFailures(primary, [new Error('remove cgroup: EBUSY'), 'unmount: EINVAL']);
    expect(joined).toBeInstanceOf(BarepodError);
    const e = joined as BarepodError;
    expect(e.code).toBe('rollback-failed');
    expect(e.exitCode).toBe(1);
    expect(e.message).toBe('runc create failed (and rollback failed: remove cgroup: EBUSY; unmount: EINVAL)');
    expect(e.cause).toBe(primary);
    expect(e.hint).toMatch(/barepod pod rm -f/);
  });
});

describe('a full disk', () => {
  it('an ENOSPC from node is "disk full: <path>" with a hint, exit 1 (disk-full), never an unexpected error', () => {
    const e = Object.assign(new Error('ENOSPC: no space left on device, open \'/run/barepod/pods/web/pod.json.1.tmp\''), { code: 'ENOSPC', syscall: 'open', path: '/run/barepod/pods/web/pod.json.1.tmp' });
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
