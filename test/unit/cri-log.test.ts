import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BarepodError } from '../../src/errors.js';
import { CriLogParser, keepSince, lastLines, LogTail, mergeByTime, parseCriLog, parseSince, rfc3339Ms } from '../../src/pod/logs.js';
import { thrown } from '../helpers/thrown.js';

describe('parseCriLog', () => {
  it('reads full lines of both streams in order', () => {
    const log = [
      '2026-11-22T04:55:41.657378223+00:00 stdout F hello',
      '2026-11-22T04:55:41.700000000+00:00 stderr F oops',
      '2026-11-22T04:55:42.000000000+00:00 stdout F ',
    ].join('\n');
    expect(parseCriLog(log)).toEqual([
      { time: '2026-11-22T04:55:41.657378223+00:00', stream: 'stdout', text: 'hello' },
      { time: '2026-11-22T04:55:41.700000000+00:00', stream: 'stderr', text: 'oops' },
      { time: '2026-11-22T04:55:42.000000000+00:00', stream: 'stdout', text: '' },
    ]);
  });

  it('joins partial records of one stream up to the next full one, even with the other stream between', () => {
    const log = ['t1 stdout P abc', 't2 stderr F err', 't3 stdout P def', 't4 stdout F ghi', 'garbage line'].join('\n');
    expect(parseCriLog(log)).toEqual([
      { time: 't2', stream: 'stderr', text: 'err' },
      { time: 't1', stream: 'stdout', text: 'abcdefghi' },
    ]);
  });

  it('keeps a trailing partial line (the container is still writing it)', () => {
    expect(parseCriLog('t1 stdout P half')).toEqual([{ time: 't1', stream: 'stdout', text: 'half' }]);
  });
});

describe('CriLogParser (chunks as they are read)', () => {
  const log = Buffer.from(['t1 stdout P ab', 't2 stderr F é!', 't3 stdout F cd', 't4 stdout F last', ''].join('\n'), 'utf8');
  const whole = [
    { time: 't2', stream: 'stderr', text: 'é!' },
    { time: 't1', stream: 'stdout', text: 'abcd' },
    { time: 't4', stream: 'stdout', text: 'last' },
  ];

  it('gives the same lines however the bytes are cut, a UTF-8 character split between chunks included', () => {
    for (let size = 1; size <= log.length; size++) {
      const p = new CriLogParser();
      const out = [];
      for (let i = 0; i < log.length; i += size) out.push(...p.feed(log.subarray(i, i + size)));
      expect(out, `chunks of ${size}`).toEqual(whole);
      expect(p.end()).toEqual([]);
    }
  });

  it('carries an unterminated record over to the next chunk, and holds a partial line until its F', () => {
    const p = new CriLogParser();
    expect(p.feed(Buffer.from('t1 stdout F on'))).toEqual([]);
    expect(p.feed(Buffer.from('e\nt2 stdout P tw'))).toEqual([{ time: 't1', stream: 'stdout', text: 'one' }]);
    expect(p.feed(Buffer.from('o\n'))).toEqual([]);
    expect(p.feed(Buffer.from('t3 stdout F !\n'))).toEqual([{ time: 't2', stream: 'stdout', text: 'two!' }]);
  });

  it('end() gives the unterminated record and the partial lines still waiting; dropCarry() forgets the unterminated one', () => {
    const p = new CriLogParser();
    p.feed(Buffer.from('t1 stderr P half\nt2 stdout F cut'));
    expect(p.end()).toEqual([
      { time: 't2', stream: 'stdout', text: 'cut' },
      { time: 't1', stream: 'stderr', text: 'half' },
    ]);
    const q = new CriLogParser();
    q.feed(Buffer.from('t1 stdout F cu'));
    q.dropCarry();
    expect(q.feed(Buffer.from('t2 stdout F new\n'))).toEqual([{ time: 't2', stream: 'stdout', text: 'new' }]);
  });
});

describe('--since', () => {
  const now = Date.parse('2026-11-22T12:00:00.000Z');

  it.each([
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
    ['0s', 0],
  ])('a duration: %s before now', (text, ms) => {
    expect(parseSince(text, now)).toBe(now - ms);
  });

  it('an RFC3339 time, with or without fractions and in any offset', () => {
    expect(parseSince('2026-11-22T10:00:00Z', now)).toBe(Date.parse('2026-11-22T10:00:00Z'));
    expect(parseSince('2026-11-22T10:00:00.123456789+02:00', now)).toBe(Date.parse('2026-11-22T08:00:00.123Z'));
  });

  it.each(['', '10', 'h', '10x', '5 m', '-5m', '1h-30m', '2026-11-22', '2026-13-01T00:00:00Z', 'yesterday'])(
    '%j is an invalid value naming the flag',
    (text) => {
      const e = thrown(() => parseSince(text, now));
      expect(e).toBeInstanceOf(BarepodError);
      expect((e as BarepodError).code).toBe('invalid-value');
      expect((e as BarepodError).message).toMatch(/^--since /);
    },
  );

  it('keeps the lines written at or after the cutoff (CRI times have nanoseconds and an offset)', () => {
    const lines = [
      { time: '2026-11-22T11:59:49.999999999+00:00', stream: 'stdout' as const, text: 'old' },
      { time: '2026-11-22T13:59:50.000000001+02:00', stream: 'stdout' as const, text: 'edge' },
      { time: '2026-11-22T11:59:59.000000000+00:00', stream: 'stderr' as const, text: 'new' },
    ];
    expect(keepSince(lines, parseSince('10s', now)).map((l) => l.text)).toEqual(['edge', 'new']);
    expect(keepSince(lines, undefined)).toBe(lines);
    expect(rfc3339Ms('2026-11-22T11:59:50.5Z')).toBe(now - 9500);
    expect(rfc3339Ms('t1')).toBeNaN();
  });
});

describe('--tail and merging containers', () => {
  it('lastLines takes the last n, all of them without n, none for 0', () => {
    expect(lastLines([1, 2, 3], 2)).toEqual([2, 3]);
    expect(lastLines([1, 2, 3], 5)).toEqual([1, 2, 3]);
    expect(lastLines([1, 2, 3], 0)).toEqual([]);
    expect(lastLines([1, 2, 3], undefined)).toEqual([1, 2, 3]);
  });

  it('mergeByTime interleaves containers by time and never reorders the lines of one list', () => {
    const l = (container: string, sec: number, text: string) => ({ container, time: `2026-11-22T12:00:0${sec}.000000000Z`, stream: 'stdout' as const, text });
    const a = [l('a', 1, 'a1'), l('a', 3, 'a3'), l('a', 2, 'a2 (clock stepped back)')];
    const b = [l('b', 2, 'b2'), l('b', 3, 'b3')];
    expect(mergeByTime([a, b]).map((x) => x.text)).toEqual(['a1', 'b2', 'a3', 'a2 (clock stepped back)', 'b3']);
    expect(mergeByTime([[], b, []]).map((x) => x.text)).toEqual(['b2', 'b3']);
    expect(mergeByTime([])).toEqual([]);
  });
});

describe('LogTail (a log file followed by byte offset)', () => {
  let dir: string;
  let file: string;
  const rec = (text: string, tag = 'F') => `2026-11-22T12:00:00.000000000Z stdout ${tag} ${text}\n`;
  const texts = (lines: { text: string }[]) => lines.map((l) => l.text);
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-logtail-'));
    file = path.join(dir, 'ctr.log');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('waits for the file, then gives each line once as it is appended, a partial one when its F comes', () => {
    const t = new LogTail(file);
    expect(t.read()).toEqual([]);
    fs.writeFileSync(file, rec('one'));
    expect(texts(t.read())).toEqual(['one']);
    expect(t.read()).toEqual([]);
    fs.appendFileSync(file, rec('tw', 'P'));
    expect(t.read()).toEqual([]);
    fs.appendFileSync(file, rec('o') + rec('three').slice(0, 20));
    expect(texts(t.read())).toEqual(['two']);
    fs.appendFileSync(file, rec('three').slice(20));
    expect(texts(t.read())).toEqual(['three']);
    t.close();
  });

  it('a file renamed over it (conmon at --log-size-max): the rest of the old one, then the new one from its start', () => {
    const t = new LogTail(file);
    fs.writeFileSync(file, rec('old1'));
    expect(texts(t.read())).toEqual(['old1']);
    fs.appendFileSync(file, rec('old2')); // written after our last read, just before the rotation
    fs.writeFileSync(`${file}.tmp`, rec('new1'));
    fs.renameSync(`${file}.tmp`, file);
    expect(texts(t.read())).toEqual(['old2', 'new1']);
    fs.appendFileSync(file, rec('new2'));
    expect(texts(t.read())).toEqual(['new2']);
    t.close();
  });

  it('a truncated file is read again from its start; a removed one is waited for, and a new one read from its start', () => {
    const t = new LogTail(file);
    fs.writeFileSync(file, rec('a') + rec('b'));
    expect(texts(t.read())).toEqual(['a', 'b']);
    fs.truncateSync(file, 0);
    fs.appendFileSync(file, rec('c'));
    expect(texts(t.read())).toEqual(['c']);
    fs.rmSync(file);
    expect(t.read()).toEqual([]);
    fs.writeFileSync(file, rec('d'));
    expect(texts(t.read())).toEqual(['d']);
    fs.appendFileSync(file, rec('half', 'P'));
    expect(texts(t.finish())).toEqual(['half']);
  });
});
