import { BarepodError } from './errors.js';

/**
 * Kubernetes resource quantities ("128Mi", "500m", "1.5Gi", "129e6"), parsed
 * exactly: the value is kept as a rational of big integers so rounding happens
 * once, upward, the way Kubernetes' Value()/MilliValue() do.
 */
export interface Quantity {
  /** numerator and denominator of the exact value */
  num: bigint;
  den: bigint;
}

const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const SHAPE = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(.*)$/;

/** Parses a quantity or explains why it is not one; `field` names it in the error. */
export function parseQuantity(text: string, field: string): Quantity {
  const bad = () =>
    new BarepodError('invalid-value', `${field}: "${text}" is not a Kubernetes quantity`, {
      hint: 'use a number with an optional suffix: 128Mi, 1Gi, 500M, 0.5, 250m, 129e6',
    });
  const m = SHAPE.exec(text.trim());
  if (!m || text.trim() !== text || text === '') throw bad();
  const [, sign, digits = '', suffix = ''] = m;
  const [whole = '', frac = ''] = digits.split('.');
  let num = BigInt((whole || '0') + frac);
  let den = 10n ** BigInt(frac.length);
  if (sign === '-') num = -num;
  if (Object.hasOwn(BINARY, suffix)) {
    num *= 2n ** BigInt(BINARY[suffix]!);
  } else if (Object.hasOwn(DECIMAL, suffix)) {
    const e = DECIMAL[suffix]!;
    if (e >= 0) num *= 10n ** BigInt(e);
    else den *= 10n ** BigInt(-e);
  } else {
    const exp = /^[eE]([+-]?\d+)$/.exec(suffix);
    if (!exp) throw bad();
    const e = Number(exp[1]);
    if (Math.abs(e) > 64) throw bad();
    if (e >= 0) num *= 10n ** BigInt(e);
    else den *= 10n ** BigInt(-e);
  }
  return { num, den };
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b === 0n || a < 0n ? q : q + 1n;
}

/** Bytes for a memory quantity, rounded up; must be positive and fit a JS number. */
export function parseBytes(text: string, field: string): number {
  const q = parseQuantity(text, field);
  const bytes = ceilDiv(q.num, q.den);
  if (bytes <= 0n) throw new BarepodError('invalid-value', `${field}: "${text}" must be greater than zero`);
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new BarepodError('invalid-value', `${field}: "${text}" is too large`);
  return Number(bytes);
}

/** Millicores for a cpu quantity ("2", "0.5", "250m"), rounded up; at least 1m. */
export function parseMilliCpu(text: string, field: string): number {
  const q = parseQuantity(text, field);
  const milli = ceilDiv(q.num * 1000n, q.den);
  if (milli <= 0n) throw new BarepodError('invalid-value', `${field}: "${text}" must be greater than zero`);
  if (milli > 1_000_000_000n) throw new BarepodError('invalid-value', `${field}: "${text}" is too large`);
  return Number(milli);
}

/** A positive whole number from a flag ("--pids-limit 64"). */
export function parseCount(text: string, field: string): number {
  if (!/^\d+$/.test(text) || Number(text) <= 0 || !Number.isSafeInteger(Number(text))) {
    throw new BarepodError('invalid-value', `${field}: "${text}" must be a positive whole number`);
  }
  return Number(text);
}

/** Human-readable bytes for tables ("64Mi"). */
export function formatBytes(n: number): string {
  const units = ['', 'Ki', 'Mi', 'Gi', 'Ti'];
  let i = 0;
  let v = n;
  while (v >= 1024 && v % 1024 === 0 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v}${units[i]}`;
}

/** Approximate bytes for usage columns ("3.2Mi", "180Ki", "64Mi"): binary units, one decimal at most. */
export function formatBytesApprox(n: number): string {
  const units = ['', 'Ki', 'Mi', 'Gi', 'Ti'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number(v.toFixed(1))}${units[i]}`;
}
