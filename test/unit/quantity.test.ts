import { describe, it, expect } from 'vitest';
import { BarepodError } from '../../src/errors.js';
import { formatBytes, formatBytesApprox, parseBytes, parseCount, parseMilliCpu, parseQuantity } from '../../src/quantity.js';
import { thrown } from '../helpers/thrown.js';

const Ki = 1024;
const Mi = 1024 * Ki;
const Gi = 1024 * Mi;

describe('parseQuantity: exact rational value', () => {
  it.each<[string, bigint, bigint]>([
    ['128Mi', 134217728n, 1n],
    ['1.5Gi', 15n * 2n ** 30n, 10n],
    ['.5Gi', 5n * 2n ** 30n, 10n],
    ['500m', 500n, 1000n],
    ['0.5', 5n, 10n],
    ['1e3', 1000n, 1n],
    ['1E3', 1000n, 1n],
    ['1e-3', 1n, 1000n],
    ['1e+3', 1000n, 1n],
    ['+2', 2n, 1n],
    ['-1Mi', -(2n ** 20n), 1n],
    ['5n', 5n, 10n ** 9n],
    ['5u', 5n, 10n ** 6n],
    ['1E', 10n ** 18n, 1n],
    ['1.', 1n, 1n],
  ])('%s → %i/%i', (text, num, den) => {
    const q = parseQuantity(text, 'f');
    expect(q.num * den).toBe(num * q.den);
  });
});

describe('parseBytes: memory quantities as Kubernetes Value() gives them', () => {
  it.each<[string, number]>([
    ['128Mi', 128 * Mi],
    ['1.5Gi', 1.5 * Gi],
    ['.5Gi', Gi / 2],
    ['128974848', 128974848],
    ['129e6', 129_000_000],
    ['129M', 129_000_000],
    ['123Mi', 128974848],
    ['1k', 1000],
    ['1Ki', 1024],
    ['1e3', 1000],
    ['1G', 1e9],
    ['1Ti', 1024 * Gi],
    ['1m', 1], // 0.001 byte: Value() rounds up to 1
    ['0.1', 1],
    ['1.0001', 2],
    ['1500m', 2],
    ['1n', 1],
  ])('%s → %i', (text, bytes) => {
    expect(parseBytes(text, '--memory')).toBe(bytes);
  });

  it('rounds up exactly, without floating-point error (0.3Gi is not a whole number of bytes)', () => {
    // 0.3 * 2^30 = 322122547.2 → 322122548
    expect(parseBytes('0.3Gi', '--memory')).toBe(322122548);
    expect(parseBytes('1.1Mi', '--memory')).toBe(Math.ceil(1.1 * Mi));
  });

  it.each([['0'], ['0Mi'], ['-1Mi'], ['-1']])('rejects %j: must be greater than zero', (text) => {
    const e = thrown(() => parseBytes(text, '--memory')) as BarepodError;
    expect(e).toBeInstanceOf(BarepodError);
    expect(e.code).toBe('invalid-value');
    expect(e.message).toBe(`--memory: "${text}" must be greater than zero`);
  });

  it('rejects a value beyond 2^53 bytes as too large', () => {
    const e = thrown(() => parseBytes('8Ei', 'spec.limits.memory')) as BarepodError;
    expect(e.code).toBe('invalid-value');
    expect(e.message).toMatch(/^spec\.limits\.memory: "8Ei" is too large/);
  });
});

describe('parseMilliCpu: cpu quantities as Kubernetes MilliValue() gives them', () => {
  it.each<[string, number]>([
    ['500m', 500],
    ['0.5', 500],
    ['.5', 500],
    ['2', 2000],
    ['250m', 250],
    ['1500m', 1500],
    ['1.5', 1500],
    ['1m', 1],
    ['0.1m', 1], // rounds up
    ['0.0001', 1],
    ['1e-3', 1],
    ['1k', 1_000_000],
  ])('%s → %im', (text, milli) => {
    expect(parseMilliCpu(text, '--cpus')).toBe(milli);
  });

  it.each([['0'], ['0m'], ['-500m']])('rejects %j: must be greater than zero', (text) => {
    const e = thrown(() => parseMilliCpu(text, '--cpus')) as BarepodError;
    expect(e.code).toBe('invalid-value');
    expect(e.message).toBe(`--cpus: "${text}" must be greater than zero`);
  });

  it('rejects an absurd cpu count as too large', () => {
    expect(() => parseMilliCpu('2M', '--cpus')).toThrow(/--cpus: "2M" is too large/);
  });
});

describe('invalid quantities', () => {
  it.each([
    ['12Qi', 'an unknown suffix'],
    ['abc', 'no number'],
    ['1.2.3', 'two decimal points'],
    ['', 'the empty string'],
    [' 1Mi', 'a leading space'],
    ['1Mi ', 'a trailing space'],
    ['1 Mi', 'a space before the suffix'],
    ['1K', 'upper-case K (Kubernetes has k and Ki only)'],
    ['1KI', 'KI'],
    ['1mi', 'lower-case mi'],
    ['e3', 'an exponent without a mantissa'],
    ['.', 'a lone decimal point'],
    ['1e', 'an exponent without digits'],
    ['1e3.5', 'a fractional exponent'],
    ['1Mi5', 'digits after the suffix'],
    ['1e100', 'an exponent beyond 64'],
    ['0x10', 'hex'],
    ['1_000', 'a digit separator'],
  ])('rejects %j (%s) with invalid-value naming the field', (text) => {
    for (const parse of [parseQuantity, parseBytes, parseMilliCpu]) {
      const e = thrown(() => parse(text, 'spec.containers[0].resources.limits.memory'));
      expect(e).toBeInstanceOf(BarepodError);
      const be = e as BarepodError;
      expect(be.code).toBe('invalid-value');
      expect(be.exitCode).toBe(2);
      expect(be.message).toBe(`spec.containers[0].resources.limits.memory: "${text}" is not a Kubernetes quantity`);
      expect(be.hint).toMatch(/128Mi/);
    }
  });

  // Suffixes are looked up as own keys only: Object.prototype's names are not units.
  it.each([['1constructor'], ['1toString'], ['1__proto__'], ['1valueOf']])(
    'rejects %j, a suffix that is an Object.prototype key, with invalid-value',
    (text) => {
      const e = thrown(() => parseBytes(text, '--memory'));
      expect(e).toBeInstanceOf(BarepodError);
      expect((e as BarepodError).code).toBe('invalid-value');
    },
  );
});

describe('parseCount', () => {
  it.each<[string, number]>([
    ['1', 1],
    ['64', 64],
    ['007', 7],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
  ])('%s → %i', (text, n) => {
    expect(parseCount(text, '--pids-limit')).toBe(n);
  });

  it.each([['0'], ['-1'], ['1.5'], [''], ['1k'], [' 1'], ['9007199254740993'], ['0x10'], ['1e3']])('rejects %j', (text) => {
    const e = thrown(() => parseCount(text, '--pids-limit')) as BarepodError;
    expect(e.code).toBe('invalid-value');
    expect(e.message).toBe(`--pids-limit: "${text}" must be a positive whole number`);
  });
});

describe('formatBytes', () => {
  it.each<[number, string]>([
    [0, '0'],
    [1, '1'],
    [1000, '1000'],
    [1024, '1Ki'],
    [1536, '1536'],
    [64 * Mi, '64Mi'],
    [1.5 * Gi, '1536Mi'],
    [Gi, '1Gi'],
    [1024 * Gi, '1Ti'],
    [1024 * 1024 * Gi, '1024Ti'],
  ])('%i → %s', (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });

  it.each([['64Mi'], ['1Gi'], ['1Ki'], ['1536Mi'], ['3Ti']])('round-trips %s through parseBytes', (text) => {
    expect(formatBytes(parseBytes(text, 'x'))).toBe(text);
  });
});

describe('formatBytesApprox', () => {
  it.each<[number, string]>([
    [0, '0'],
    [512, '512'],
    [1024, '1Ki'],
    [311296, '304Ki'],
    [3354624, '3.2Mi'],
    [64 * Mi, '64Mi'],
    [1.5 * Gi, '1.5Gi'],
    [100_000_000, '95.4Mi'],
  ])('%i → %s', (n, text) => {
    expect(formatBytesApprox(n)).toBe(text);
  });
});
