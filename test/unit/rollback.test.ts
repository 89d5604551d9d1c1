import { describe, it, expect } from 'vitest';
import { BarepodError, RollbackError, hasCode } from '../../src/errors.js';
import { Rollback, transaction } from '../../src/pod/rollback.js';

describe('Rollback.unwind', () => {
  it('runs undos newest first, awaiting async ones in turn', async () => {
    const rb = new Rollback();
    const ran: string[] = [];
    rb.push('create cgroup', () => {
      ran.push('cgroup');
    });
    rb.push('mount rootfs', async () => {
      await new Promise((r) => setTimeout(r, 5));
      ran.push('rootfs');
    });
    rb.push('start pause', () => {
      ran.push('pause');
    });
    expect(await rb.unwind()).toEqual([]);
    expect(ran).toEqual(['pause', 'rootfs', 'cgroup']);
  });

  it('reports each failing undo by its step and still runs the later ones', async () => {
    const rb = new Rollback();
    const ran: string[] = [];
    rb.push('a', () => {
      ran.push('a');
    });
    rb.push('b', () => {
      ran.push('b');
      throw new BarepodError('busy', 'cgroup busy');
    });
    rb.push('c', async () => {
      ran.push('c');
      throw 'plain string';
    });
    rb.push('d', () => {
      ran.push('d');
    });
    const failures = await rb.unwind();
    expect(ran).toEqual(['d', 'c', 'b', 'a']);
    expect(failures.map((f) => f.message)).toEqual(['c: plain string', 'b: cgroup busy']);
  });

  it('empties the stack: a second unwind does nothing', async () => {
    const rb = new Rollback();
    let n = 0;
    rb.push('x', () => {
      n++;
    });
    await rb.unwind();
    expect(await rb.unwind()).toEqual([]);
    expect(n).toBe(1);
  });
});

describe('transaction', () => {
  it('returns the result and runs no undo on success', async () => {
    let undone = false;
    const out = await transaction(async (rb) => {
      rb.push('x', () => {
        undone = true;
      });
      return 42;
    });
    expect(out).toBe(42);
    expect(undone).toBe(false);
  });

  it('unwinds in reverse and rethrows the primary error itself when every undo succeeds', async () => {
    const ran: string[] = [];
    const primary = new BarepodError('tool-failed', 'runc create failed');
    const err = await transaction(async (rb) => {
      rb.push('one', () => {
        ran.push('one');
      });
      rb.push('two', () => {
        ran.push('two');
      });
      throw primary;
    }).catch((e: unknown) => e);
    expect(err).toBe(primary);
    expect(ran).toEqual(['two', 'one']);
  });

  it('joins failing undos to the primary error, keeping its code, exit status and cause', async () => {
    const ran: string[] = [];
    const primary = new BarepodError('not-found', 'image "nope" not found');
    const err = await transaction(async (rb) => {
      rb.push('remove cgroup /barepod/web', () => {
        ran.push('cgroup');
        throw new Error('EBUSY');
      });
      rb.push('unmount rootfs', () => {
        ran.push('rootfs');
      });
      rb.push('kill pause', () => {
        ran.push('pause');
        throw new Error('ESRCH');
      });
      throw primary;
    }).catch((e: unknown) => e);
    expect(ran).toEqual(['pause', 'rootfs', 'cgroup']);
    expect(err).toBeInstanceOf(BarepodError);
    const e = err as BarepodError;
    expect(e.code).toBe('not-found');
    expect(e.exitCode).toBe(3);
    expect(e.message).toBe('image "nope" not found (and rollback failed: kill pause: ESRCH; remove cgroup /barepod/web: EBUSY)');
    expect(e.cause).toBe(primary);
    expect(e.hint).toMatch(/barepod pod rm -f/);
  });

  it('handles a non-Error primary failure', async () => {
    const err = await transaction(async (rb) => {
      rb.push('x', () => {
        throw new Error('nope');
      });
      throw 'boom';
    }).catch((e: unknown) => e);
    expect((err as BarepodError).message).toBe('boom (and rollback failed: x: nope)');
    expect((err as BarepodError).code).toBe('rollback-failed');
  });

  it('keeps each undo failure with its step and its cause (for --debug)', async () => {
    const undoCause = new BarepodError('tool-failed', 'umount failed: target is busy');
    const err = await transaction(async (rb) => {
      rb.push('unmount rootfs', () => {
        throw undoCause;
      });
      throw new BarepodError('sandbox-gone', 'pod "web": its sandbox is gone');
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RollbackError);
    const e = err as RollbackError;
    expect([e.code, e.exitCode]).toEqual(['sandbox-gone', 6]);
    expect(hasCode(e, 'sandbox-gone')).toBe(true);
    expect((e.undoErrors[0] as Error).message).toBe('unmount rootfs: umount failed: target is busy');
    expect((e.undoErrors[0] as Error).cause).toBe(undoCause);
  });
});
