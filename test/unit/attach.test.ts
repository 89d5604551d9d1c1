import { describe, expect, it } from 'vitest';
import { DetachMatcher, parseDetachKeys } from '../../src/plan/detach-keys.js';
import { conmonStdioArgs } from '../../src/runtime/conmon.js';
import { withTerminal } from '../../src/oci/options.js';
import { defaultSpec } from '../../src/oci/default-spec.js';
import { ManifestError } from '../../src/manifest/pod.js';
import { exportPod } from '../../src/manifest/export.js';
import { base, ctr } from '../fixtures/manifests.js';
import { parseResolved } from '../helpers/resolve.js';
import { thrown } from '../helpers/thrown.js';
import { recordOf } from '../helpers/records.js';

describe('detach keys', () => {
  it('parses podman and docker notation', () => {
    expect([...parseDetachKeys('ctrl-p,ctrl-q')]).toEqual([0x10, 0x11]);
    expect([...parseDetachKeys('ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_')]).toEqual([0, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f]);
    expect([...parseDetachKeys('ctrl-X,a')]).toEqual([0x18, 0x61]);
    expect(parseDetachKeys('')).toHaveLength(0);
  });

  it('refuses what is not a key, naming it', () => {
    for (const bad of ['ctrl-1', 'ctrl-', 'ab', 'ctrl-p,,ctrl-q', 'é']) {
      const e = thrown(() => parseDetachKeys(bad));
      expect(e).toMatchObject({ code: 'invalid-value' });
      expect(String((e as Error).message)).toContain(`--detach-keys "${bad}"`);
    }
  });

  const feed = (keys: string, chunks: string[]) => {
    const m = new DetachMatcher(parseDetachKeys(keys));
    let out = '';
    for (const c of chunks) {
      const r = m.feed(Buffer.from(c, 'latin1'));
      out += r.forward.toString('latin1');
      if (r.detach) return { out, detach: true };
    }
    return { out, detach: false };
  };

  it('detaches on the whole sequence, even split across reads, and never sends it', () => {
    expect(feed('ctrl-p,ctrl-q', ['ls\r\x10\x11rest'])).toEqual({ out: 'ls\r', detach: true });
    expect(feed('ctrl-p,ctrl-q', ['ab\x10', '\x11'])).toEqual({ out: 'ab', detach: true });
    expect(feed('ctrl-x', ['a\x18b'])).toEqual({ out: 'a', detach: true });
  });

  it('passes a broken sequence on in order; a repeated first key restarts it', () => {
    expect(feed('ctrl-p,ctrl-q', ['\x10', 'x'])).toEqual({ out: '\x10x', detach: false });
    expect(feed('ctrl-p,ctrl-q', ['\x10\x10\x11'])).toEqual({ out: '\x10', detach: true });
    expect(feed('', ['\x10\x11'])).toEqual({ out: '\x10\x11', detach: false });
  });
});

describe('conmon terminal and stdin flags (measured with conmon 2.1.6)', () => {
  it('maps tty, stdin and stdinOnce', () => {
    expect(conmonStdioArgs({})).toEqual([]);
    expect(conmonStdioArgs({ terminal: true })).toEqual(['--terminal']);
    expect(conmonStdioArgs({ terminal: true, stdin: true })).toEqual(['--terminal']);
    expect(conmonStdioArgs({ terminal: true, stdin: true, stdinOnce: true })).toEqual(['--terminal', '--stdin']);
    expect(conmonStdioArgs({ stdin: true })).toEqual(['--stdin', '--leave-stdin-open']);
    expect(conmonStdioArgs({ stdin: true, stdinOnce: true })).toEqual(['--stdin']);
  });

  it('a terminal in the spec, with TERM=xterm unless set', () => {
    const s = withTerminal(defaultSpec());
    expect(s.process.terminal).toBe(true);
    expect(s.process.env).toContain('TERM=xterm');
    const own = withTerminal({ ...defaultSpec(), process: { ...defaultSpec().process, env: ['TERM=vt100'] } });
    expect(own.process.env).toEqual(['TERM=vt100']);
  });
});

describe('manifest: stdin, stdinOnce, tty', () => {
  const parse = (extra: string) => parseResolved(base(ctr(extra)));
  it('are kept on the container (stdinOnce only with stdin, as Kubernetes ignores it without) and exported back', () => {
    const { pods } = parse('      stdin: true\n      stdinOnce: true\n      tty: true\n');
    const p = pods[0]!;
    expect(p.containers[0]).toMatchObject({ stdin: true, stdinOnce: true, tty: true });
    expect(parse('      stdinOnce: true\n').pods[0]!.containers[0]!.stdinOnce).toBeUndefined();
    const rec = recordOf(p.pod, p.containers);
    const exported = exportPod(rec) as { spec: { containers: Record<string, unknown>[] } };
    expect(exported.spec.containers[0]).toMatchObject({ stdin: true, stdinOnce: true, tty: true });
  });

  it('must be booleans', () => {
    const e = thrown(() => parse('      stdinOnce: "yes"\n'));
    expect((e as ManifestError).issues.map((i) => i.path)).toEqual(['spec.containers[0].stdinOnce']);
  });
});
