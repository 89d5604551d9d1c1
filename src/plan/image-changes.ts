/**
 * `import --change`: Dockerfile instructions applied to an imported image's
 * config, as `docker import -c` and `podman import --change` take them.
 * Pure: parse each instruction, then apply them in order.
 *
 *   CMD ["nginx", "-g", "daemon off;"]     exec form: a JSON array of strings
 *   CMD nginx -g 'daemon off;'             shell form: ["/bin/sh", "-c", "…"]
 *   ENTRYPOINT (same two forms)
 *   ENV KEY=VALUE [KEY2="VALUE 2" …]       or the old form: ENV KEY VALUE…
 *   WORKDIR /srv                          relative: from the WORKDIR before it (or /)
 *   USER name|uid[:group|gid]
 *
 * Instruction names are case-insensitive; a later CMD, ENTRYPOINT, WORKDIR
 * or USER replaces an earlier one; ENV adds (a name set again is replaced).
 * Unlike a Dockerfile, a value that starts with `[` but is not a JSON array
 * of strings is refused (Docker silently runs it as a shell command), and
 * `$VAR` is not expanded (as podman's --change).
 */
import path from 'node:path';
import { BarepodError } from '../errors.js';
import { climbsOut, procWorkdir } from './rootfs-paths.js';

export type ImageChange =
  | { instruction: 'CMD' | 'ENTRYPOINT'; argv: string[] }
  | { instruction: 'ENV'; env: [string, string][] }
  | { instruction: 'WORKDIR'; dir: string }
  | { instruction: 'USER'; user: string };

export const CHANGE_INSTRUCTIONS = ['CMD', 'ENTRYPOINT', 'ENV', 'WORKDIR', 'USER'] as const;

/** Dockerfile instructions barepod's images have no use for: named as such when given. */
const UNSUPPORTED = new Set(['EXPOSE', 'LABEL', 'VOLUME', 'STOPSIGNAL', 'ONBUILD', 'HEALTHCHECK', 'SHELL', 'ARG', 'FROM', 'RUN', 'COPY', 'ADD', 'MAINTAINER']);

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const USER_PART = /^[a-zA-Z0-9_.][a-zA-Z0-9_.-]*$/;

const EXAMPLES: Record<(typeof CHANGE_INSTRUCTIONS)[number], string> = {
  CMD: `CMD ["nginx", "-g", "daemon off;"] (a JSON array, double quotes) or CMD nginx -g 'daemon off;' (run by /bin/sh -c)`,
  ENTRYPOINT: `ENTRYPOINT ["/docker-entrypoint.sh"] (a JSON array, double quotes) or ENTRYPOINT exec /app (run by /bin/sh -c)`,
  ENV: `ENV KEY=VALUE [KEY2="VALUE 2" ...], or ENV KEY VALUE`,
  WORKDIR: 'WORKDIR /srv/app',
  USER: 'USER nginx, USER 101:101 or USER app:staff',
};

const bad = (text: string, why: string, instruction?: (typeof CHANGE_INSTRUCTIONS)[number]) =>
  new BarepodError('invalid-value', `--change "${text}": ${why}`, {
    hint: instruction
      ? `write it as ${EXAMPLES[instruction]}`
      : `--change takes a Dockerfile instruction: ${CHANGE_INSTRUCTIONS.join(', ')}; e.g. --change 'CMD ["nginx", "-g", "daemon off;"]'`,
  });

/**
 * Splits on unquoted whitespace (a Dockerfile's ENV words): "…" and '…'
 * quote, a backslash escapes the next character (in "…" only \, " and $);
 * quotes are removed. `split: false` keeps whitespace (one word).
 */
function words(text: string, onError: (why: string) => BarepodError, split = true): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else cur += ch;
      continue;
    }
    if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === '\\' && i + 1 < text.length && ['\\', '"', '$'].includes(text[i + 1]!)) cur += text[++i];
      else cur += ch;
      continue;
    }
    if (split && /\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '\\') {
      if (i + 1 >= text.length) throw onError('it ends with a lone backslash');
      cur += text[++i];
    } else cur += ch;
  }
  if (quote) throw onError(`a ${quote === '"' ? 'double' : 'single'} quote is not closed`);
  if (inWord) out.push(cur);
  return out;
}

/** The argv of CMD or ENTRYPOINT: a JSON array of strings (exec form), or a shell command (run by /bin/sh -c). */
function commandForm(text: string, rest: string, instruction: 'CMD' | 'ENTRYPOINT'): string[] {
  if (!rest.startsWith('[')) return ['/bin/sh', '-c', rest];
  let parsed: unknown;
  try {
    parsed = JSON.parse(rest);
  } catch (e) {
    throw bad(text, `${instruction}'s exec form is not valid JSON (${(e as Error).message})`, instruction);
  }
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string'))
    throw bad(text, `${instruction}'s exec form must be a JSON array of strings`, instruction);
  return parsed;
}

/** Parses one --change instruction; a bad one is an error naming it and showing its right form. */
export function parseChange(text: string): ImageChange {
  const m = /^\s*(\S+)(?:\s+([\s\S]*))?$/.exec(text);
  if (!m) throw bad(text, 'it is empty');
  const name = m[1]!.toUpperCase();
  const rest = (m[2] ?? '').trim();
  if (!(CHANGE_INSTRUCTIONS as readonly string[]).includes(name)) {
    throw bad(
      text,
      UNSUPPORTED.has(name)
        ? `${name} is not supported by import --change (supported: ${CHANGE_INSTRUCTIONS.join(', ')})`
        : `"${m[1]}" is not a Dockerfile instruction that import --change takes (${CHANGE_INSTRUCTIONS.join(', ')})`,
    );
  }
  const instruction = name as (typeof CHANGE_INSTRUCTIONS)[number];
  if (rest === '') throw bad(text, `${instruction} needs a value`, instruction);
  const wordError = (why: string) => bad(text, `${instruction}: ${why}`, instruction);
  switch (instruction) {
    case 'CMD':
    case 'ENTRYPOINT':
      return { instruction, argv: commandForm(text, rest, instruction) };
    case 'ENV': {
      const first = /^\S+/.exec(rest)![0];
      let pairs: [string, string][];
      if (first.includes('=')) {
        pairs = words(rest, wordError).map((w) => {
          const eq = w.indexOf('=');
          if (eq < 0) throw bad(text, `ENV: "${w}" is not KEY=VALUE (every word of the KEY=VALUE form must be one)`, 'ENV');
          return [w.slice(0, eq), w.slice(eq + 1)];
        });
      } else {
        const value = rest.slice(first.length).trim();
        if (value === '') throw bad(text, `ENV ${first} has no value`, 'ENV');
        pairs = [[first, words(value, wordError, false).join('')]];
      }
      for (const [k] of pairs) {
        if (!ENV_NAME.test(k)) throw bad(text, `ENV: "${k}" is not a valid variable name (letters, digits, _ . -; not starting with a digit)`, 'ENV');
      }
      return { instruction, env: pairs };
    }
    case 'WORKDIR': {
      const [dir, ...more] = words(rest, wordError);
      if (dir === undefined || dir === '' || more.length > 0) throw bad(text, 'WORKDIR takes one path', 'WORKDIR');
      if (dir.includes('\0')) throw bad(text, 'WORKDIR: the path has a NUL byte', 'WORKDIR');
      return { instruction, dir };
    }
    case 'USER': {
      const [user, ...more] = words(rest, wordError);
      const parts = (user ?? '').split(':');
      if (more.length > 0 || parts.length > 2 || !parts.every((p) => USER_PART.test(p)))
        throw bad(text, 'USER takes one user name or uid, with an optional :group or :gid', 'USER');
      return { instruction, user: user! };
    }
  }
}

/** The OCI image config fields `--change` sets (the `config` object of an image config JSON). */
export interface ChangedConfig {
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
}

/**
 * Applies parsed changes, in order, over an image's `config`: a relative
 * WORKDIR is taken from the one before it (or /); the result is an absolute
 * path, refused when it climbs above / or lies in /proc.
 */
export function applyChanges(config: ChangedConfig, changes: { text: string; change: ImageChange }[]): ChangedConfig {
  const out: ChangedConfig = { ...config };
  for (const { text, change } of changes) {
    switch (change.instruction) {
      case 'CMD':
        out.Cmd = change.argv;
        break;
      case 'ENTRYPOINT':
        out.Entrypoint = change.argv;
        break;
      case 'ENV': {
        let env = out.Env ?? [];
        for (const [k, v] of change.env) env = [...env.filter((e) => e.split('=', 1)[0] !== k), `${k}=${v}`];
        out.Env = env;
        break;
      }
      case 'WORKDIR': {
        const joined = change.dir.startsWith('/') ? change.dir : `${out.WorkingDir || '/'}/${change.dir}`;
        if (climbsOut(joined)) throw bad(text, `WORKDIR ${joined} climbs above the root of the container with ".."`, 'WORKDIR');
        const proc = procWorkdir(joined);
        if (proc) throw bad(text, `WORKDIR ${joined} is refused: it is ${proc}`, 'WORKDIR');
        out.WorkingDir = path.posix.normalize(joined).replace(/(.)\/$/, '$1');
        break;
      }
      case 'USER':
        out.User = change.user;
        break;
    }
  }
  return out;
}

/** Parses every --change (in order) and applies them over `config`. */
export function configFromChanges(texts: string[], config: ChangedConfig = {}): ChangedConfig {
  return applyChanges(
    config,
    texts.map((text) => ({ text, change: parseChange(text) })),
  );
}
