import { describe, expect, it } from 'vitest';
import { parseCriLog } from '../../src/pod/logs.js';

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
