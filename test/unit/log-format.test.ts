import { describe, expect, it } from 'vitest';
import { LogFormatter, neutraliseForTerminal } from '../../src/cli/log-format.js';
import { CriLogParser, lineBytes, parseCriLog, type ContainerLogLine } from '../../src/pod/logs.js';

describe('CRI log records keep every byte', () => {
  it.each([
    ['a carriage return (CRLF output)', 'a\r'],
    ['a carriage return mid-line', 'a\rb'],
    ['U+2028 and U+2029', 'b\u2028c\u2029d'],
    ['U+0085 (NEL)', 'x\u0085y'],
    ['escape sequences', '\x1b]0;t\x07\x1b[2J'],
    ['a NUL', 'a\x00b'],
    ['a form feed and a vertical tab', 'a\f\vb'],
  ])('%s', (_what, text) => {
    expect(parseCriLog(`t1 stdout F ${text}\nt2 stderr F ok\n`)).toEqual([
      { time: 't1', stream: 'stdout', text },
      { time: 't2', stream: 'stderr', text: 'ok' },
    ]);
  });

  it('bytes that are not UTF-8: text with U+FFFD, and the exact bytes in base64', () => {
    const raw = Buffer.concat([Buffer.from('t1 stdout F '), Buffer.from([0x01, 0xff, 0xfe, 0x41]), Buffer.from('\n')]);
    const [line] = parseCriLog(raw);
    expect(line).toEqual({ time: 't1', stream: 'stdout', text: '\x01\ufffd\ufffdA', bytes: Buffer.from([0x01, 0xff, 0xfe, 0x41]).toString('base64') });
    expect(lineBytes(line!)).toEqual(Buffer.from([0x01, 0xff, 0xfe, 0x41]));
  });

  it('a UTF-8 character split between two partial records comes back whole', () => {
    const euro = Buffer.from('€'); // e2 82 ac
    const log = Buffer.concat([Buffer.from('t1 stdout P a'), euro.subarray(0, 1), Buffer.from('\nt2 stdout F '), euro.subarray(1), Buffer.from('b\n')]);
    expect(new CriLogParser().feed(log)).toEqual([{ time: 't1', stream: 'stdout', text: 'a€b' }]);
  });

  it('a record that is not one is still skipped', () => {
    expect(parseCriLog('garbage\nt1 stdin F x\nt1 stdout X y\nt 1 stdout F z\nt1 stdout F ok\n')).toEqual([{ time: 't1', stream: 'stdout', text: 'ok' }]);
  });
});

describe('neutraliseForTerminal', () => {
  it.each([
    ['a window title (OSC 0, BEL)', '\x1b]0;pwned\x07', '^[]0;pwned^G'],
    ['an icon title (OSC 1) and a title (OSC 2, ST)', '\x1b]1;a\x07\x1b]2;b\x1b\\', '^[]1;a^G^[]2;b^[\\'],
    ['a clipboard write (OSC 52)', '\x1b]52;c;cHduZWQ=\x07', '^[]52;c;cHduZWQ=^G'],
    ['a screen clear (CSI 2J, CSI 3J)', '\x1b[2J\x1b[3J', '^[[2J^[[3J'],
    ['a terminal reset (ESC c)', '\x1bc', '^[c'],
    ['a cursor move that overwrites earlier lines', '\x1b[1A\x1b[2K', '^[[1A^[[2K'],
    ['a hyperlink (OSC 8)', '\x1b]8;;http://x\x1b\\y\x1b]8;;\x1b\\', '^[]8;;http://x^[\\y^[]8;;^[\\'],
    ['an 8-bit CSI and OSC (C1)', '\u009b2J\u009d0;x\u0007', '<U+009B>2J<U+009D>0;x^G'],
    ['NUL, backspace, shift-out, DEL', 'a\x00\b\x0e\x7f', 'a^@^H^N^?'],
    ['a carriage return inside the line', 'safe\rrm -rf', 'safe^Mrm -rf'],
  ])('shows %s', (_what, text, shown) => {
    expect(neutraliseForTerminal(text)).toBe(shown);
    expect(neutraliseForTerminal(text)).not.toMatch(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/);
  });

  it.each([
    ['colours (SGR)', '\x1b[31mred\x1b[0m \x1b[1;38;5;208mbold\x1b[m \x1b[38:2::1:2:3mrgb\x1b[0m'],
    ['a tab', 'a\tb'],
    ['a carriage return ending the line (CRLF output)', 'line\r'],
    ['text, U+2028 and other characters', 'héllo € \u2028 \u{1F600}'],
  ])('keeps %s', (_what, text) => {
    expect(neutraliseForTerminal(text)).toBe(text);
  });
});

describe('LogFormatter', () => {
  const lines: ContainerLogLine[] = [
    { time: 't1', stream: 'stdout', text: '\x1b]0;x\x07\x1b[32mgreen\x1b[0m\r', container: 'app' },
    { time: 't2', stream: 'stderr', text: '\x1b[2Jerr', container: 'app' },
    { time: 't3', stream: 'stdout', text: '\x01\ufffd', bytes: Buffer.from([0x01, 0xff]).toString('base64'), container: 'side' },
  ];
  const off = { stdout: false, stderr: false };
  const on = { stdout: true, stderr: true };

  it('to a pipe: the exact bytes, stdout and stderr apart', () => {
    const out = new LogFormatter({ prefix: false, timestamps: false, colour: off, terminal: off, raw: false }).format(lines);
    expect(out.stdout).toEqual(Buffer.concat([Buffer.from('\x1b]0;x\x07\x1b[32mgreen\x1b[0m\r\n'), Buffer.from([0x01, 0xff, 0x0a])]));
    expect(out.stderr.toString()).toBe('\x1b[2Jerr\n');
  });

  it('to a terminal: the takeover sequences shown, colours kept, with coloured prefixes and times', () => {
    const out = new LogFormatter({ prefix: true, timestamps: true, colour: on, terminal: on, raw: false }).format(lines);
    expect(out.stdout.toString()).toBe('t1 \x1b[36m[app]\x1b[0m ^[]0;x^G\x1b[32mgreen\x1b[0m\r\nt3 \x1b[33m[side]\x1b[0m ^A\ufffd\n');
    expect(out.stderr.toString()).toBe('t2 \x1b[36m[app]\x1b[0m ^[[2Jerr\n');
  });

  it('only the stream that is a terminal is neutralised', () => {
    const out = new LogFormatter({ prefix: false, timestamps: false, colour: off, terminal: { stdout: false, stderr: true }, raw: false }).format(lines);
    expect(out.stdout.toString('latin1')).toContain('\x1b]0;x\x07');
    expect(out.stderr.toString()).toBe('^[[2Jerr\n');
  });

  it('--raw: a terminal gets every byte too', () => {
    const out = new LogFormatter({ prefix: false, timestamps: false, colour: on, terminal: on, raw: true }).format(lines);
    expect(out.stdout).toEqual(Buffer.concat([Buffer.from('\x1b]0;x\x07\x1b[32mgreen\x1b[0m\r\n'), Buffer.from([0x01, 0xff, 0x0a])]));
    expect(out.stderr.toString()).toBe('\x1b[2Jerr\n');
  });
});
