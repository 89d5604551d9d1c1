/**
 * writeOut / writeAllOr (src/cli/output.ts): a command's output goes to stdout with write(2), all of it, in order;
 * what write(2) does not take (a full non-blocking pipe: EAGAIN; a closed fd) goes on through the stream, from the
 * first byte not written; and output goes through the stream while it still holds earlier output.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildSync } from 'esbuild';
import { writeAllOr, writeOut } from '../../src/cli/output.js';

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-write-out-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Text of `n` bytes, each line numbered, so order and gaps show. */
const text = (n: number): string => {
  let s = '';
  for (let i = 0; s.length < n; i++) s += `line ${i} ${'é'.repeat(i % 7)}\n`;
  return s;
};

describe('writeAllOr', () => {
  it('writes all of it to a file, multi-byte characters whole, and leaves nothing over', () => {
    const file = path.join(dir, 'out');
    const fd = fs.openSync(file, 'w');
    const rest = vi.fn();
    const t = text(300_000);
    try {
      writeAllOr(fd, t, rest);
    } finally {
      fs.closeSync(fd);
    }
    expect(fs.readFileSync(file, 'utf8')).toBe(t);
    expect(rest).not.toHaveBeenCalled();
  });

  it('gives what a full non-blocking pipe does not take to `rest`, from the first byte not written', () => {
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // read and write ends in this process, nobody reading: the pipe fills (64 KiB) and write(2) says EAGAIN
    const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    const t = text(200_000);
    const left: Buffer[] = [];
    try {
      writeAllOr(fd, t, (b) => left.push(Buffer.from(b)));
      expect(left).toHaveLength(1);
      const taken: Buffer[] = [];
      const chunk = Buffer.alloc(1 << 16);
      for (;;) {
        let n = 0;
        try {
          n = fs.readSync(fd, chunk);
        } catch {
          break; // EAGAIN: drained
        }
        if (n <= 0) break;
        taken.push(Buffer.from(chunk.subarray(0, n)));
      }
      expect(Buffer.concat(taken).length).toBeGreaterThan(0);
      expect(Buffer.concat([...taken, ...left]).toString('utf8')).toBe(t);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('gives all of it to `rest` when the fd takes nothing (closed)', () => {
    const fd = fs.openSync(path.join(dir, 'x'), 'w');
    fs.closeSync(fd);
    const left: string[] = [];
    writeAllOr(fd, 'héllo\n', (b) => left.push(b.toString('utf8')));
    expect(left).toEqual(['héllo\n']);
  });
});

describe('writeOut', () => {
  it('goes through process.stdout while it still holds earlier output, so the order stays', () => {
    vi.spyOn(process.stdout, 'writableLength', 'get').mockReturnValue(10);
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    writeOut('after\n');
    expect(write).toHaveBeenCalledWith('after\n');
  });

  it('goes through process.stdout when it is not fd 1 (a stand-in put there: the snapshot warm-up, a test)', () => {
    const seen: string[] = [];
    const d = Object.getOwnPropertyDescriptor(process, 'stdout')!;
    Object.defineProperty(process, 'stdout', { configurable: true, value: { write: (s: string) => seen.push(s), writableLength: 0 } });
    try {
      writeOut('table\n');
    } finally {
      Object.defineProperty(process, 'stdout', d);
    }
    expect(seen).toEqual(['table\n']);
  });

  it('prints tables and JSON on stdout, after what went through process.stdout, in a process whose stdout is a pipe', () => {
    const entry = path.join(dir, 'entry.ts');
    fs.writeFileSync(
      entry,
      `import { printJson, printTable } from ${JSON.stringify(path.resolve('src/cli/output.ts'))};
      process.stdout.write('first\\n');
      printTable(['A', 'BB'], [['1', 'x'], ['22', 'yy']]);
      printJson({ a: [1, 'é'] });
      process.stdout.write('last\\n');`,
    );
    const out = path.join(dir, 'entry.mjs');
    buildSync({ entryPoints: [entry], outfile: out, bundle: true, platform: 'node', format: 'esm', logLevel: 'silent' });
    const r = spawnSync(process.execPath, [out], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('first\nA    BB\n1    x\n22   yy\n{\n  "a": [\n    1,\n    "é"\n  ]\n}\nlast\n');
  });
});
