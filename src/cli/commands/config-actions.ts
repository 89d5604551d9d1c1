/**
 * `barepod configmap …` and `barepod secret …`, loaded only when one runs.
 * A Secret's values are never printed unless `--showsecret` asks.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { BarepodError, withDetails } from '../../errors.js';
import { configKeyProblem, parseSecret } from '../../manifest/config-objects.js';
import { Issues } from '../../manifest/fields.js';
import { listConfigs, readConfig, removeConfig, validConfigName, writeConfig, type ConfigKind, type StoredConfig } from '../../pod/config-store.js';
import { refreshPodsUsing } from '../../pod/config-volumes.js';
import { runtimeFor } from '../common.js';
import { age, printJson, printTable } from '../output.js';

const word = (kind: ConfigKind) => (kind === 'Secret' ? 'secret' : 'configmap');

/** A stored object, or a not-found error naming it. */
function mustRead(cmd: Command, kind: ConfigKind, name: string): StoredConfig {
  const c = readConfig(runtimeFor(cmd).settings, kind, validConfigName(kind, name));
  if (!c)
    throw new BarepodError('not-found', `${kind} "${name}" not found`, {
      hint: `list them: barepod ${word(kind)} ls`,
    });
  return c;
}

/** The keys of an object (data and binaryData), sorted. */
const keysOf = (c: StoredConfig): string[] => [...Object.keys(c.data ?? {}), ...Object.keys(c.binaryData ?? {})].sort();

/** What `ls` shows of one object: never a value. */
function row(c: StoredConfig) {
  return {
    name: c.metadata.name,
    ...(c.kind === 'Secret' ? { type: c.type ?? 'Opaque' } : {}),
    keys: keysOf(c),
    immutable: c.immutable === true,
    madeBy: c.barepod?.madeBy ?? null,
    createdAt: c.barepod?.createdAt ?? null,
    updatedAt: c.barepod?.updatedAt ?? null,
  };
}

export async function listAction(kind: ConfigKind, o: { json?: boolean }, cmd: Command): Promise<void> {
  const settings = runtimeFor(cmd).settings;
  const rows = listConfigs(settings, kind).flatMap((n) => {
    const c = readConfig(settings, kind, n);
    return c ? [row(c)] : [];
  });
  if (o.json) return printJson(rows);
  const by = (m: string | null) => (m === null ? '-' : m.startsWith('file:') ? m.slice(5) : m);
  printTable(
    kind === 'Secret' ? ['NAME', 'TYPE', 'DATA', 'AGE', 'MADE BY'] : ['NAME', 'DATA', 'AGE', 'MADE BY'],
    rows.map((r) => [
      r.name,
      ...(kind === 'Secret' ? [(r as { type?: string }).type ?? 'Opaque'] : []),
      String(r.keys.length),
      age(r.createdAt ?? undefined),
      by(r.madeBy),
    ]),
  );
}

/**
 * What `inspect` prints of one object: as stored (Kubernetes' shape plus
 * barepod's bookkeeping); a Secret's `data` only with --showsecret, else the
 * size of each value in `dataBytes`.
 */
function inspectView(c: StoredConfig, show: boolean) {
  if (c.kind !== 'Secret' || show) return c;
  const { data, ...rest } = c;
  return { ...rest, dataBytes: Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').length])) };
}

export async function inspectAction(kind: ConfigKind, names: string[], o: { json?: boolean; showsecret?: boolean }, cmd: Command): Promise<void> {
  printJson(names.map((n) => inspectView(mustRead(cmd, kind, n), o.showsecret === true)));
}

export async function removeAction(kind: ConfigKind, names: string[], o: { ignore?: boolean; json?: boolean }, cmd: Command): Promise<void> {
  const settings = runtimeFor(cmd).settings;
  const done: { name: string; outcome: 'removed' | 'not-found' }[] = [];
  try {
    for (const n of names) {
      const removed = removeConfig(settings, kind, validConfigName(kind, n));
      if (!removed && !o.ignore)
        throw new BarepodError('not-found', `${kind} "${n}" not found`, { hint: `list them: barepod ${word(kind)} ls (--ignore: not an error)` });
      done.push({ name: n, outcome: removed ? 'removed' : 'not-found' });
      if (!o.json) process.stdout.write(`${word(kind)}/${n} ${removed ? 'removed' : 'not found'}\n`);
    }
  } catch (e) {
    throw o.json && done.length ? withDetails(e, { removed: done }) : e;
  }
  if (o.json) printJson(done);
}

/** `--from-literal K=V` and `--from-file [K=]FILE` into one key → value map; a key given twice is an error (kubectl's rule). */
function secretValues(literals: string[], files: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (flag: string, key: string, value: Buffer) => {
    const why = configKeyProblem(key);
    if (why) throw new BarepodError('invalid-value', `${flag}: ${why}`, { hint: "a key is letters, digits, '-', '_' and '.'" });
    if (Object.hasOwn(out, key)) throw new BarepodError('invalid-value', `${flag}: the key "${key}" is given twice`);
    out[key] = value.toString('base64');
  };
  for (const l of literals) {
    const eq = l.indexOf('=');
    // the value is never echoed: it is a secret
    if (eq <= 0)
      throw new BarepodError('invalid-value', `--from-literal: expected KEY=VALUE, got a value without "=" (not shown)`, {
        hint: 'e.g. --from-literal password=…',
      });
    put(`--from-literal ${l.slice(0, eq)}=…`, l.slice(0, eq), Buffer.from(l.slice(eq + 1), 'utf8'));
  }
  for (const f of files) {
    const eq = f.indexOf('=');
    const [key, file] = eq > 0 ? [f.slice(0, eq), f.slice(eq + 1)] : [path.basename(f), f];
    let data: Buffer;
    try {
      if (!fs.statSync(file).isFile()) throw new Error('not a regular file');
      data = fs.readFileSync(file);
    } catch (e) {
      throw new BarepodError(
        'not-found',
        `--from-file ${f}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    put(`--from-file ${f}`, key, data);
  }
  return out;
}

export async function createSecretAction(
  name: string,
  o: { fromLiteral?: string[]; fromFile?: string[]; type: string; replace?: boolean; json?: boolean },
  cmd: Command,
): Promise<void> {
  validConfigName('Secret', name);
  const data = secretValues(o.fromLiteral ?? [], o.fromFile ?? []);
  if (!Object.keys(data).length) throw new BarepodError('usage', 'secret create: give at least one --from-literal or --from-file');
  // the same checks as a manifest's Secret: type, the keys its type needs, 1 MiB (paths without values)
  const is = new Issues();
  const secret = parseSecret(is, { apiVersion: 'v1', kind: 'Secret', metadata: { name }, data, type: o.type });
  if (is.errors.length || !secret)
    throw new BarepodError('invalid-value', `secret "${name}": ${is.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, {
      hint: 'see barepod help secret create',
    });
  const rt = runtimeFor(cmd);
  if (readConfig(rt.settings, 'Secret', name) && !o.replace)
    throw new BarepodError('already-exists', `Secret "${name}" already exists`, {
      hint: `replace it: barepod secret create ${name} --replace …, or remove it first`,
    });
  const outcome = writeConfig(rt.settings, secret, 'cli');
  const refreshed = outcome === 'unchanged' ? [] : await refreshPodsUsing(rt, [{ kind: 'Secret', name }]);
  if (o.json) return printJson({ kind: 'Secret', name, outcome });
  process.stdout.write(`secret/${name} ${outcome}\n`);
  for (const r of refreshed) if (!r.kept) process.stdout.write(`pod/${r.pod} volume ${r.volume} updated\n`);
}
