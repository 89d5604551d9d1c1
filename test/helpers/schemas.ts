/**
 * The JSON schemas of docs/schemas/, and the check the harness runs on every
 * CLI call of the tests that asked for JSON: the output validates against the
 * schema of its command, and a failure is the one error object (a command
 * that prints JSON lines may end with it).
 *
 * The validator is ajv (a devDependency; the most used JSON Schema validator
 * for JS, maintained, full draft 2020-12 support including $ref between
 * files): a home-made subset would drift from what the schemas say.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020Module, { type ValidateFunction } from 'ajv/dist/2020.js';

export const SCHEMA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/schemas');

/** Commands whose --json output is JSON lines (one object per line) rather than one document. */
const LINES = new Set(['logs', 'events']);

/** The commands whose first word groups subcommands: their schema is named by both words. */
const GROUPS = new Set(['pod', 'network', 'lab', 'image', 'generate', 'volume', 'configmap', 'secret']);
const ALIASES: Record<string, string> = {
  'pod list': 'pod ls',
  'pod remove': 'pod rm',
  'image ls': 'images',
  'volume list': 'volume ls',
  'volume remove': 'volume rm',
  'configmap list': 'configmap ls',
  'configmap remove': 'configmap rm',
  'secret list': 'secret ls',
  'secret remove': 'secret rm',
};
/** Global options that take a value (skipped to find the command's words). */
const GLOBAL_WITH_VALUE = new Set(['--root']);

let ajv: InstanceType<typeof Ajv2020Module.default> | undefined;
const compiled = new Map<string, ValidateFunction>();

/** The validator of one schema file of docs/schemas (name without .schema.json). */
export function validatorOf(name: string): ValidateFunction {
  if (!ajv) {
    const Ajv2020 = Ajv2020Module.default;
    ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, strictTypes: false });
    for (const f of fs.readdirSync(SCHEMA_DIR).filter((x) => x.endsWith('.schema.json'))) {
      ajv.addSchema(JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, f), 'utf8')) as object);
    }
  }
  let v = compiled.get(name);
  if (!v) {
    const id = `https://barepod.dev/schemas/${name}.schema.json`;
    v = ajv.getSchema(id);
    if (!v) throw new Error(`no schema ${name}.schema.json in docs/schemas`);
    compiled.set(name, v);
  }
  return v;
}

/** Whether a command line asks for JSON: --json (or -o json) before any `--`. */
export function wantsJson(args: string[]): boolean {
  const end = args.indexOf('--');
  const before = end < 0 ? args : args.slice(0, end);
  return before.some((w, i) => w === '--json' || w === '--output=json' || w === '-ojson' || ((w === '-o' || w === '--output') && before[i + 1] === 'json'));
}

/** The schema name of a command line (`pod ls` → pod-ls, `up --dry-run` → up-dry-run), and whether its output is JSON lines. */
export function schemaOf(args: string[]): { name: string; lines: boolean } | undefined {
  const end = args.indexOf('--');
  const before = end < 0 ? args : args.slice(0, end);
  const words: string[] = [];
  for (let i = 0; i < before.length && words.length < 2; i++) {
    const w = before[i]!;
    if (GLOBAL_WITH_VALUE.has(w) && words.length === 0) {
      i++;
      continue;
    }
    if (w.startsWith('-')) {
      if (words.length === 0) continue;
      break;
    }
    words.push(w);
    if (!GROUPS.has(words[0]!)) break;
  }
  if (words.length === 0) return undefined;
  const command = ALIASES[words.join(' ')] ?? words.join(' ');
  if (command === 'up' && before.includes('--dry-run')) return { name: 'up-dry-run', lines: false };
  if (command === 'stats') return { name: 'stats', lines: before.includes('--watch') || before.includes('-w') };
  return { name: command.replace(/ /g, '-'), lines: LINES.has(command) };
}

const errorsOf = (v: ValidateFunction): string => JSON.stringify(v.errors?.slice(0, 5), null, 1);

/**
 * Checks one call's stdout against the schema of its command: a success is
 * its command's document (or lines); a failure (exit ≠ 0) is the error object,
 * unless the command's own document still is the output (doctor, lab check
 * report through their exit status). Returns what is wrong, or undefined.
 */
export function checkJsonOutput(args: string[], r: { code: number; stdout: string }): string | undefined {
  const s = schemaOf(args);
  if (!s) return undefined;
  const error = validatorOf('error');
  const fileExists = fs.existsSync(path.join(SCHEMA_DIR, `${s.name}.schema.json`));
  if (s.lines) {
    const lines = r.stdout.split('\n');
    if (lines.pop() !== '') return `JSON lines must end with a newline: ${JSON.stringify(r.stdout.slice(-80))}`;
    const own = validatorOf(s.name);
    for (const [i, line] of lines.entries()) {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        return `line ${i + 1} is not JSON: ${line.slice(0, 200)}`;
      }
      const last = i === lines.length - 1;
      if (own(value)) continue;
      if (last && r.code !== 0 && error(value)) continue;
      return `line ${i + 1} does not match ${s.name}.schema.json${r.code !== 0 && last ? ' nor error.schema.json' : ''}: ${errorsOf(own)}\n${line.slice(0, 500)}`;
    }
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(r.stdout);
  } catch {
    return `stdout is not one JSON document: ${r.stdout.slice(0, 500)}`;
  }
  if (r.code !== 0 && error(value)) return undefined;
  if (!fileExists) return r.code !== 0 ? `the error does not match error.schema.json: ${errorsOf(error)}` : `no schema ${s.name}.schema.json in docs/schemas`;
  const own = validatorOf(s.name);
  if (own(value)) return undefined;
  return `stdout does not match ${s.name}.schema.json${r.code !== 0 ? ' nor error.schema.json' : ''}: ${errorsOf(own)}\n${r.stdout.slice(0, 500)}`;
}
