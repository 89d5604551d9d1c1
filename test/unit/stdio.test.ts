/**
 * whenStdioMade / stdioMade (src/cli/stdio.ts): the CLI's stream setup runs when Node makes process.stdout or
 * process.stderr, not by making them at every call; writeOut (src/cli/output.ts) then writes without making stdout.
 */
import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { writeOut } from '../../src/cli/output.js';
import { stdioMade, whenStdioMade } from '../../src/cli/stdio.js';

const real = Object.getOwnPropertyDescriptor(process, 'stdout')!;
let makes = 0;
let written: string[] = [];
/** A stdout as Node's: made by its getter when first read (here a stand-in stream on fd 1 that collects). */
const lazyStdout = () => {
  makes = 0;
  written = [];
  let stream: NodeJS.WriteStream | undefined;
  Object.defineProperty(process, 'stdout', {
    configurable: true,
    enumerable: true,
    get: () => {
      if (!stream) {
        makes++;
        stream = { fd: 1, writableLength: 0, write: (s: string) => written.push(String(s)), on: () => stream } as unknown as NodeJS.WriteStream;
      }
      return stream;
    },
  });
};
beforeEach(lazyStdout);
afterEach(() => {
  Object.defineProperty(process, 'stdout', real);
  vi.restoreAllMocks();
});

describe('whenStdioMade', () => {
  it('runs the setup once, when the stream is first read, not before', () => {
    const setup = vi.fn();
    whenStdioMade('stdout', setup);
    expect(makes).toBe(0);
    expect(setup).not.toHaveBeenCalled();
    expect(stdioMade('stdout')).toBe(false);
    const s = process.stdout;
    expect(makes).toBe(1);
    expect(setup).toHaveBeenCalledTimes(1);
    expect(setup).toHaveBeenCalledWith(s);
    expect(stdioMade('stdout')).toBe(true);
    expect(process.stdout).toBe(s);
    expect(setup).toHaveBeenCalledTimes(1);
  });

  it('runs it now on a stand-in put there (no getter), which counts as made', () => {
    const sink = { write: () => true } as unknown as NodeJS.WriteStream;
    Object.defineProperty(process, 'stdout', { configurable: true, value: sink });
    const setup = vi.fn();
    whenStdioMade('stdout', setup);
    expect(setup).toHaveBeenCalledWith(sink);
    expect(stdioMade('stdout')).toBe(true);
  });

  it('a stream nobody watches counts as made (writeOut then asks it whether it holds output)', () => {
    expect(stdioMade('stderr')).toBe(true);
  });
});

describe('writeOut and a stdout not made yet', () => {
  it('writes with write(2) to fd 1 without making it', () => {
    whenStdioMade('stdout', () => {});
    const w = vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, b: Uint8Array) => (fd === 1 ? b.length : 0)) as typeof fs.writeSync);
    writeOut('POD   STATE\n');
    expect(makes).toBe(0);
    expect(w).toHaveBeenCalledTimes(1);
    expect(Buffer.from(w.mock.calls[0]![1] as unknown as Uint8Array).toString()).toBe('POD   STATE\n');
  });

  it('once it is made and holds earlier output, goes through it, so the order stays', () => {
    whenStdioMade('stdout', () => {});
    const s = process.stdout as unknown as { writableLength: number };
    s.writableLength = 5;
    const w = vi.spyOn(fs, 'writeSync');
    writeOut('later\n');
    expect(w).not.toHaveBeenCalled();
    expect(written).toEqual(['later\n']);
  });
});
