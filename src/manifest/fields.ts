/**
 * Reading an untyped YAML/JSON tree strictly: every reader names the field
 * path and the rule it broke, and every object's keys are checked against the
 * ones barepod supports, so nothing a user wrote is silently ignored.
 */

/** One problem with a manifest, at a field path such as `spec.containers[1].resources.limits.memory`. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Collects the errors (and warnings) of one document instead of stopping at the first. */
export class Issues {
  readonly errors: FieldIssue[] = [];
  readonly warnings: FieldIssue[] = [];
  constructor(
    /** unsupported fields are warnings rather than errors */
    readonly lenient = false,
  ) {}

  error(path: string, message: string): undefined {
    this.errors.push({ path, message });
    return undefined;
  }

  /** A field barepod does not support: an error, or a warning when lenient. */
  unsupported(path: string, why = 'is not supported by barepod'): void {
    (this.lenient ? this.warnings : this.errors).push({ path, message: why });
  }

  /** Runs a parser that throws (quantities, names) and records its message at the path, without the parser's own `label: ` prefix. */
  attempt<T>(path: string, fn: () => T, label?: string): T | undefined {
    try {
      return fn();
    } catch (e) {
      const message = (e as Error).message;
      return this.error(path, label && message.startsWith(`${label}: `) ? message.slice(label.length + 2) : message);
    }
  }
}

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);

/** Checks an object's keys: known ones pass, `unsupported` ones are reported as such, others as unknown. */
export function checkKeys(is: Issues, o: Obj, path: string, known: readonly string[], unsupported: readonly string[] = []): void {
  for (const key of Object.keys(o)) {
    if (known.includes(key)) continue;
    const at = path ? `${path}.${key}` : key;
    if (unsupported.includes(key)) is.unsupported(at);
    else is.unsupported(at, 'unknown field (not part of the supported v1/Pod subset)');
  }
}

export function obj(is: Issues, v: unknown, path: string): Obj | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v)) return is.error(path, `must be an object, got ${typeName(v)}`);
  return v;
}

export function list(is: Issues, v: unknown, path: string): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) return is.error(path, `must be a list, got ${typeName(v)}`);
  return v;
}

export function str(is: Issues, v: unknown, path: string, required = false): string | undefined {
  if (v === undefined || v === null) return required ? is.error(path, 'is required') : undefined;
  if (typeof v !== 'string') return is.error(path, `must be a string, got ${typeName(v)}`);
  if (required && v === '') return is.error(path, 'must not be empty');
  return v;
}

export function bool(is: Issues, v: unknown, path: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') return is.error(path, `must be true or false, got ${typeName(v)}`);
  return v;
}

export function int(is: Issues, v: unknown, path: string, min: number, max: number, required = false): number | undefined {
  if (v === undefined || v === null) return required ? is.error(path, 'is required') : undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) return is.error(path, `must be a whole number, got ${typeof v === 'number' ? v : typeName(v)}`);
  if (v < min || v > max) return is.error(path, `${v} is out of range (${min}–${max})`);
  return v;
}

export function strings(is: Issues, v: unknown, path: string): string[] | undefined {
  const items = list(is, v, path);
  if (!items) return undefined;
  const out: string[] = [];
  items.forEach((item, i) => {
    const s = str(is, item, `${path}[${i}]`);
    if (s !== undefined) out.push(s);
  });
  return out;
}

/** A map of strings (labels, annotations). */
export function stringMap(is: Issues, v: unknown, path: string): Record<string, string> | undefined {
  const o = obj(is, v, path);
  if (!o) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) {
    const s = str(is, val, `${path}.${k}`);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

/** One of a fixed set of values. */
export function oneOf<T extends string>(is: Issues, v: unknown, path: string, values: readonly T[]): T | undefined {
  const s = str(is, v, path);
  if (s === undefined) return undefined;
  if (!(values as readonly string[]).includes(s)) return is.error(path, `"${s}" must be one of ${values.join(', ')}`) as undefined;
  return s as T;
}
