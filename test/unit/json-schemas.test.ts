/**
 * docs/schemas: every schema compiles (ajv, strict), names itself by its file,
 * and every command that takes --json has one; the command-line → schema
 * mapping the harness uses to check every --json output of the integration
 * tests; and the error object of a few classified errors matches its schema.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { BarepodError, errorJson, wrap } from '../../src/errors.js';
import { checkJsonOutput, SCHEMA_DIR, schemaOf, validatorOf, wantsJson } from '../helpers/schemas.js';

const files = fs.readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.schema.json'));

/** Every command of the CLI with its full words (`pod ls`), hidden ones included. */
function commands(cmd: Command, prefix: string[] = []): { words: string[]; cmd: Command }[] {
  return cmd.commands.flatMap((c) => [{ words: [...prefix, c.name()], cmd: c }, ...commands(c, [...prefix, c.name()])]);
}

describe('docs/schemas', () => {
  it.each(files)('%s compiles under draft 2020-12 and its $id is its file name', (file) => {
    const schema = JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, file), 'utf8')) as Record<string, unknown>;
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe(`https://barepod.dev/schemas/${file}`);
    expect(typeof schema.title).toBe('string');
    expect(() => validatorOf(file.replace(/\.schema\.json$/, ''))).not.toThrow();
  });

  it('every command that takes --json has a schema (and --dry-run of up its own)', () => {
    const withJson = commands(buildProgram()).filter((c) => c.cmd.options.some((o) => o.long === '--json'));
    expect(withJson.length).toBeGreaterThan(15);
    const missing = withJson.map((c) => schemaOf([...c.words, '--json'])!.name).filter((name) => !files.includes(`${name}.schema.json`));
    expect(missing).toEqual([]);
    expect(files).toContain('up-dry-run.schema.json');
    expect(files).toContain('error.schema.json');
  });

  it('no schema without a command', () => {
    const names = new Set(
      commands(buildProgram())
        .filter((c) => c.cmd.options.some((o) => o.long === '--json'))
        .map((c) => schemaOf([...c.words, '--json'])!.name),
    );
    const orphans = files.map((f) => f.replace(/\.schema\.json$/, '')).filter((n) => !names.has(n) && !['error', 'up-dry-run'].includes(n));
    expect(orphans).toEqual([]);
  });
});

describe('schemaOf / wantsJson', () => {
  it.each<[string[], { name: string; lines: boolean } | undefined]>([
    [['ps', '--json'], { name: 'ps', lines: false }],
    [['--root', '/x', 'pod', 'ls', '-o', 'json'], { name: 'pod-ls', lines: false }],
    [['pod', 'list', '--json'], { name: 'pod-ls', lines: false }],
    [['--debug', 'up', '-f', 'f.yaml', '--json'], { name: 'up', lines: false }],
    [['up', '-f', 'f.yaml', '--dry-run', '--json'], { name: 'up-dry-run', lines: false }],
    [['logs', 'web', '--json'], { name: 'logs', lines: true }],
    [['events', '--json'], { name: 'events', lines: true }],
    [['stats', 'web', '--watch', '--json'], { name: 'stats', lines: true }],
    [['network', 'inspect', 'barepod', '--json'], { name: 'network-inspect', lines: false }],
    [['lab', 'check', 'all', '--json'], { name: 'lab-check', lines: false }],
  ])('%j → %j', (args, want) => {
    expect(schemaOf(args)).toEqual(want);
    expect(wantsJson(args)).toBe(true);
  });

  it('a --json after -- belongs to the container command', () => {
    expect(wantsJson(['exec', 'web', '--', 'tool', '--json'])).toBe(false);
    expect(wantsJson(['ps'])).toBe(false);
  });
});

describe('checkJsonOutput', () => {
  const error = (e: unknown) => JSON.stringify(errorJson(e)) + '\n';

  it('takes the error object of a failed command, with or without a hint, and with details', () => {
    const notFound = new BarepodError('not-found', 'pod "web" not found', { hint: 'list pods with `barepod ps`' });
    expect(checkJsonOutput(['inspect', 'web', '--json'], { code: 3, stdout: error(notFound) })).toBeUndefined();
    expect(checkJsonOutput(['ps', '--json'], { code: 1, stdout: error(wrap(new Error('boom'), 'pod "web"')) })).toBeUndefined();
    const gc = new BarepodError('disk-full', 'gc could not finish', { details: { actions: [{ pod: 'a', action: 'removed' }] } });
    expect(checkJsonOutput(['gc', '--json'], { code: 1, stdout: error(gc) })).toBeUndefined();
  });

  it('refuses two documents, a success shaped as an error, and an error object missing its code', () => {
    const e = error(new BarepodError('not-found', 'x'));
    expect(checkJsonOutput(['gc', '--json'], { code: 1, stdout: `[]\n${e}` })).toMatch(/not one JSON document/);
    expect(checkJsonOutput(['ps', '--json'], { code: 0, stdout: e })).toMatch(/does not match ps.schema.json/);
    expect(checkJsonOutput(['ps', '--json'], { code: 3, stdout: '{"error":{"message":"x","exitCode":3}}' })).toMatch(/nor error.schema.json/);
  });

  it('JSON lines: each line is one object of the schema, and a failure may end with the error', () => {
    const line = { time: '2026-01-01T00:00:00.000000001Z', stream: 'stdout', text: 'hi', container: 'app' };
    const two = `${JSON.stringify(line)}\n${JSON.stringify(line)}\n`;
    expect(checkJsonOutput(['logs', 'web', '--json'], { code: 0, stdout: two })).toBeUndefined();
    expect(checkJsonOutput(['logs', 'web', '--json'], { code: 0, stdout: '' })).toBeUndefined();
    expect(checkJsonOutput(['logs', 'web', '--json'], { code: 0, stdout: JSON.stringify([line]) + '\n' })).toMatch(/line 1 does not match logs.schema.json/);
    expect(checkJsonOutput(['logs', 'web', '--json'], { code: 3, stdout: two + error(new BarepodError('not-found', 'gone')) })).toBeUndefined();
  });
});
