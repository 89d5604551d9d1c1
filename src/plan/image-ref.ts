/**
 * Image references and image defaults, pure: what `pull` is asked to fetch,
 * the name it is stored under, and how an image's config combines with what
 * the user asked for (Kubernetes semantics).
 */
import path from 'node:path';
import { BarepodError } from '../errors.js';
import { climbsOut, procWorkdir } from './rootfs-paths.js';

/** Where an image comes from: skopeo's transports that barepod accepts. */
export type Transport = 'docker' | 'oci' | 'oci-archive' | 'docker-archive';

export interface ImageSource {
  transport: Transport;
  /** the reference as skopeo takes it, with its transport prefix (docker://…, oci:DIR:TAG, …) */
  skopeoRef: string;
  /** the normalized name the image is stored and listed under */
  name: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * Normalizes a registry image name the way Docker does: `nginx` is
 * `docker.io/library/nginx:latest`; the first component is a registry when it
 * has a dot or a port, or is `localhost`; a digest replaces the default tag.
 */
export function normalizeName(ref: string): string {
  const bad = (why: string) =>
    new BarepodError('invalid-value', `image "${ref}": ${why}`, {
      hint: 'an image is [REGISTRY/]PATH[:TAG][@sha256:DIGEST], e.g. nginx:1.27 or localhost:5000/app:1',
    });
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`"${digest}" is not a sha256 digest`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`"${tag}" is not a valid tag`);
  }
  const parts = rest.split('/');
  let domain = 'docker.io';
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    domain = parts.shift()!;
    if (!/^[a-zA-Z0-9.-]+(:\d+)?$/.test(domain)) throw bad(`"${domain}" is not a valid registry`);
  } else if (parts.length === 1) {
    parts.unshift('library');
  }
  if (parts.length === 0 || !parts.every((p) => COMPONENT.test(p)))
    throw bad('each path component must be lower-case letters, digits and separators (. _ __ -)');
  const repo = `${domain}/${parts.join('/')}`;
  if (digest) return tag ? `${repo}:${tag}@${digest}` : `${repo}@${digest}`;
  return `${repo}:${tag ?? 'latest'}`;
}

/** Whether a reference names its registry (`localhost:5000/app`, `quay.io/x/y`) or leaves it to the default. */
export function hasRegistry(ref: string): boolean {
  const first = ref.split('@')[0]!.split('/');
  return first.length > 1 && (first[0]!.includes('.') || first[0]!.includes(':') || first[0] === 'localhost');
}

/**
 * The stored names a reference may mean, in order: a short name (no
 * registry) is Docker Hub's, or a local image (`localhost/NAME`, what
 * `import` and oci:/archive pulls store), as podman resolves them.
 */
export function candidateNames(ref: string): string[] {
  const docker = normalizeName(ref);
  return hasRegistry(ref) ? [docker] : [docker, normalizeName(`localhost/${ref}`)];
}

/** How `run --pull` and a manifest's imagePullPolicy (Always, IfNotPresent, Never) decide: always, missing, never. */
export type PullPolicy = 'missing' | 'never' | 'always';

/**
 * Whether a reference names a local image: its registry is `localhost` (no
 * port), what `import` and `pull --name SHORT` store. There is no registry
 * behind such a name, so it is never pulled, whatever the policy (podman's
 * rule); `localhost:5000/app` is a registry and is pulled as any other.
 */
export function isLocalName(ref: string): boolean {
  try {
    return normalizeName(ref).startsWith('localhost/');
  } catch {
    return false; // a bad reference: resolving it says what is wrong
  }
}

/**
 * Whether to pull a reference before using it: `always`, or `missing` when
 * the store has none of its names; a local name (`localhost/…`) never.
 */
export function shouldPull(ref: string, policy: PullPolicy, have: boolean): boolean {
  if (isLocalName(ref)) return false;
  return policy === 'always' || (policy === 'missing' && !have);
}

/**
 * The hint for a failed pull of a reference the store already holds (under
 * `stored`): how to use the local image instead. `via` says where the policy
 * came from: a manifest's imagePullPolicy (`:latest` and untagged images are
 * Always by default, as in Kubernetes) or run's --pull.
 */
export function localImageHint(stored: string, via: 'manifest' | 'cli'): string {
  const local = stored.startsWith('localhost/') ? `, or name it ${stored} (a localhost/ name is never pulled)` : '';
  const has = `the image store has ${stored}`;
  return via === 'manifest'
    ? `${has}: to use it without a pull, set imagePullPolicy: IfNotPresent (or Never) on the container${local}; an image with :latest or no tag is pulled Always by default, as in Kubernetes`
    : `${has}: to use it without a pull, run with --pull missing (the default) or --pull never${local}`;
}

/** The name `import` stores under: a short name becomes local (`localhost/NAME:TAG`), never Docker Hub's. */
export function localImageName(ref: string): string {
  return normalizeName(hasRegistry(ref) ? ref : `localhost/${ref}`);
}

/** The short form people write: `docker.io/library/nginx:1.27` shows as `nginx:1.27`. */
export function shortName(name: string): string {
  return name.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}

/** A local name for an image from a file or directory: `localhost/<base name>:<tag>`. */
function localName(file: string, tag: string | undefined): string {
  const base =
    path
      .basename(file)
      .replace(/\.(tar|tgz|tar\.gz|oci)$/, '')
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '') || 'image';
  return normalizeName(`localhost/${base}:${tag && TAG.test(tag) ? tag : 'latest'}`);
}

/**
 * Parses what `pull` was given: `docker://REF` or a bare registry reference,
 * `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`, `docker-archive:FILE`. Images
 * from files are named `localhost/<base name>:<tag>`; `as` names any image
 * (a short name is local: `localhost/NAME`).
 */
export function parseSource(text: string, as?: string): ImageSource {
  const m = /^(oci|oci-archive|docker-archive):(.+)$/.exec(text);
  if (m) {
    const transport = m[1] as Transport;
    const body = m[2]!;
    const sep = body.lastIndexOf(':');
    const file = transport === 'docker-archive' || sep < 0 ? body : body.slice(0, sep);
    const tag = transport === 'docker-archive' || sep < 0 ? undefined : body.slice(sep + 1);
    if (!path.isAbsolute(file) && !file.startsWith('.')) {
      // skopeo resolves relative paths itself; keep them as given
    }
    const resolved = path.resolve(file);
    const skopeoRef = transport === 'docker-archive' ? `${transport}:${resolved}` : `${transport}:${resolved}${tag ? `:${tag}` : ''}`;
    return { transport, skopeoRef, name: as ? localImageName(as) : localName(file, tag) };
  }
  const ref = text.startsWith('docker://') ? text.slice('docker://'.length) : text;
  const name = normalizeName(ref);
  return { transport: 'docker', skopeoRef: `docker://${name}`, name: as ? localImageName(as) : name };
}

/** The parts of an OCI image config barepod uses (`config` of the image config JSON). */
export interface ImageDefaults {
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workdir: string;
  /** "", "name", "uid", "name:group", "uid:gid" */
  user: string;
}

/** The defaults of an image config JSON (missing fields are empty). */
export function imageDefaults(config: unknown): ImageDefaults {
  const c = ((config as { config?: Record<string, unknown> } | undefined)?.config ?? {}) as Record<string, unknown>;
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return {
    entrypoint: strings(c.Entrypoint),
    cmd: strings(c.Cmd),
    env: strings(c.Env),
    // kept as the image says (checked by imageWorkdir when a container uses it): a bad one is an error, never silently /
    workdir: typeof c.WorkingDir === 'string' && c.WorkingDir !== '' ? c.WorkingDir : '/',
    user: typeof c.User === 'string' ? c.User : '',
  };
}

/** Where an image default came from, for messages: `image NAME: its config's FIELD "VALUE"`. */
export const imageConfigField = (image: string, field: 'WorkingDir' | 'User', value: string): string => `image ${image}: its config's ${field} "${value}"`;

const IMAGE_FIX =
  "fix the image (its Dockerfile's WORKDIR or USER), or override it for the container (run -w/-u, or workingDir/securityContext.runAsUser in a manifest)";

/**
 * An image's WorkingDir, when a container uses it: an absolute path that
 * stays inside the container (no `..` above `/`) and out of /proc (CVE-2024-21626);
 * anything else is an error naming the image config, never silently `/`.
 */
export function imageWorkdir(workdir: string, image: string): string {
  const bad = (why: string) => new BarepodError('invalid-value', `${imageConfigField(image, 'WorkingDir', workdir)} ${why}`, { hint: IMAGE_FIX });
  if (!workdir.startsWith('/')) throw bad('is not an absolute path');
  if (climbsOut(workdir)) throw bad('climbs above the root of the container with ".."');
  const proc = procWorkdir(workdir);
  if (proc) throw bad(`is refused: it is ${proc}`);
  return workdir;
}

/** An error about a user name, restated for where the name came from: the image's config, or --user. */
export function userError(e: unknown, userName: string, image: string | undefined): unknown {
  if (!(e instanceof BarepodError)) return e;
  const from = image !== undefined ? imageConfigField(image, 'User', userName) : `--user "${userName}"`;
  return new BarepodError(e.code, `${from}: ${e.message}`, { hint: image !== undefined ? IMAGE_FIX : (e.hint ?? 'use a numeric --user UID[:GID]'), cause: e });
}

/**
 * The process argv with Kubernetes semantics: `command` replaces the image's
 * entrypoint (and then its cmd is ignored), `args` replaces its cmd. The CLI
 * maps `--entrypoint` to command and the words after `--` to args when
 * `--entrypoint` is given; without it, the words after `--` are the whole
 * command line (replacing entrypoint and cmd, as `barepod run` always did).
 */
export function resolveArgv(image: Pick<ImageDefaults, 'entrypoint' | 'cmd'>, command: string[] | undefined, args: string[] | undefined): string[] {
  if (command && command.length > 0) return [...command, ...(args ?? [])];
  return [...image.entrypoint, ...(args && args.length > 0 ? args : image.cmd)];
}

/** The image's environment with the user's on top (a name set by the user wins). */
export function mergeEnv(image: string[], user: string[]): string[] {
  const key = (e: string) => e.split('=', 1)[0];
  const mine = new Set(user.map(key));
  return [...image.filter((e) => !mine.has(key(e))), ...user];
}

/** A `user` that is all numbers needs no /etc/passwd: UID or UID:GID. */
export function numericUser(text: string): { uid: number; gid: number } | undefined {
  const m = /^(\d+)(?::(\d+))?$/.exec(text);
  if (!m) return undefined;
  const uid = Number(m[1]);
  return { uid, gid: m[2] === undefined ? uid : Number(m[2]) };
}

/**
 * Resolves `user[:group]` against the contents of /etc/passwd and /etc/group:
 * a name is looked up, a number is used as is; without a group, the user's
 * primary group (or the uid, for an unknown numeric user).
 */
export function resolveUserSpec(spec: string, passwd: string, group: string): { uid: number; gid: number } {
  const [userPart = '', groupPart] = spec.split(':', 2);
  const users = passwd
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4);
  const groups = group
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 3);
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    const u = users.find((f) => f[2] === userPart);
    if (u) gid = Number(u[3]);
  } else {
    const u = users.find((f) => f[0] === userPart);
    if (!u || !/^\d+$/.test(u[2] ?? '') || !/^\d+$/.test(u[3] ?? '')) {
      throw new BarepodError('invalid-value', `user "${userPart}" is not in the image's /etc/passwd`, {
        hint: 'use a numeric --user UID[:GID], or a user the image defines',
      });
    }
    uid = Number(u[2]);
    gid = Number(u[3]);
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((f) => f[0] === groupPart);
      if (!g || !/^\d+$/.test(g[2] ?? ''))
        throw new BarepodError('invalid-value', `group "${groupPart}" is not in the image's /etc/group`, {
          hint: 'use a numeric group, or a group the image defines',
        });
      gid = Number(g[2]);
    }
  }
  return { uid, gid: gid ?? uid };
}
