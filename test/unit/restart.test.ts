import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/duration.js';
import { DEFAULT_BACKOFF } from '../../src/model.js';
import { backoffDelay, crashLoopAfter, exitReason, parseRestartPolicy, shouldRestart } from '../../src/plan/restart.js';
import { thrown } from '../helpers/thrown.js';

describe('restart policy', () => {
  it.each([
    ['always', 'Always'],
    ['Always', 'Always'],
    ['on-failure', 'OnFailure'],
    ['OnFailure', 'OnFailure'],
    ['never', 'Never'],
    ['no', 'Never'],
  ])('parses %s as %s', (text, policy) => {
    expect(parseRestartPolicy(text, '--restart')).toBe(policy);
  });

  it('names the flag of a bad policy', () => {
    expect(thrown(() => parseRestartPolicy('unless-stopped', '--restart')).message).toBe('--restart "unless-stopped": must be always, on-failure or never');
  });

  it.each([
    ['Always', 0, true],
    ['Always', 1, true],
    ['OnFailure', 0, false],
    ['OnFailure', 137, true],
    ['OnFailure', undefined, true],
    ['Never', 1, false],
  ] as const)('%s restarts after exit %s: %s', (policy, code, expected) => {
    expect(shouldRestart(policy, code)).toBe(expected);
  });
});

describe("crash-loop backoff (the kubelet's)", () => {
  it('doubles from 10 s and caps at 300 s', () => {
    const delays = [0, 1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(DEFAULT_BACKOFF, n) / 1000);
    expect(delays).toEqual([10, 20, 40, 80, 160, 300, 300, 300]);
  });

  it('never overflows, however long the loop', () => {
    expect(backoffDelay(DEFAULT_BACKOFF, 10_000)).toBe(300_000);
  });

  it('a zero initial delay restarts at once, always', () => {
    expect(backoffDelay({ initialMs: 0, maxMs: 0, resetMs: 1 }, 5)).toBe(0);
  });

  it('resets after the container ran for the reset window (10 minutes)', () => {
    expect(crashLoopAfter(DEFAULT_BACKOFF, 4, 599_999)).toBe(4);
    expect(crashLoopAfter(DEFAULT_BACKOFF, 4, 600_000)).toBe(0);
  });
});

describe('exit reason', () => {
  it.each([
    [0, false, 'Completed'],
    [1, false, 'Error'],
    [137, false, 'Error'],
    [137, true, 'OOMKilled'],
    [undefined, false, 'Error'],
  ] as const)('exit %s, oom %s: %s', (code, oom, reason) => {
    expect(exitReason(code, oom)).toBe(reason);
  });

  it.each([
    [137, false, 'Exited'],
    [143, false, 'Exited'],
    [0, false, 'Completed'],
    [137, true, 'OOMKilled'],
  ] as const)("ended by a user's stop: exit %s, oom %s: %s (never Error)", (code, oom, reason) => {
    expect(exitReason(code, oom, true)).toBe(reason);
  });
});

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
    ['2', 2000],
    ['0s', 0],
  ])('parses %s', (text, ms) => {
    expect(parseDuration(text, '--since')).toBe(ms);
  });

  it.each([['5 min'], ['-1s'], ['s'], [''], ['1d']])('rejects %j naming the flag', (text) => {
    const e = thrown(() => parseDuration(text, '--since'));
    expect(e.code).toBe('invalid-value');
    expect(e.message).toContain(`--since "${text}": not a duration`);
  });

  it.each([
    [0, '0s'],
    [250, '250ms'],
    [10_000, '10s'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
