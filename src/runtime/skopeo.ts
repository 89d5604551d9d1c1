/**
 * skopeo, the registry side of pulling: it speaks every registry protocol,
 * picks the host's architecture from a manifest list, reads the usual auth
 * files (${XDG_RUNTIME_DIR}/containers/auth.json, ~/.docker/config.json) and
 * verifies what it downloads. barepod only ever copies into a private OCI
 * layout and takes the result from there.
 */
import { BarepodError, ToolError } from '../errors.js';
import { launch, trace } from './exec.js';
import { explaining, explainRun } from './explain.js';
import { shellWords } from '../plan/narration.js';
import { requireBinary } from './host.js';

export interface CopyOptions {
  /** --src-tls-verify for a docker:// source (false: plain HTTP or an untrusted certificate, e.g. a local registry) */
  tlsVerify?: boolean | undefined;
  /** USER[:PASSWORD] for the source registry */
  creds?: string | undefined;
  /** OCI architecture to pick from a manifest list (default: the host's) */
  arch?: string | undefined;
  /** show skopeo's own per-blob progress on stderr (a terminal) */
  showProgress?: boolean;
}

/** The OCI name of Node's architecture (what skopeo picks by default). */
export function ociArch(nodeArch: string = process.arch): string {
  const table: Record<string, string> = {
    x64: 'amd64',
    ia32: '386',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64',
    loong64: 'loong64',
  };
  return table[nodeArch] ?? nodeArch;
}

/** The argv of one `skopeo copy` from `src` into the OCI layout `destDir` under `tag`. */
export function copyArgv(skopeo: string, src: string, destDir: string, tag: string, o: CopyOptions): string[] {
  return [
    skopeo,
    ...(o.arch ? ['--override-arch', o.arch, '--override-os', 'linux'] : []),
    'copy',
    ...(o.showProgress ? [] : ['--quiet']),
    ...(src.startsWith('docker://') && o.tlsVerify !== undefined ? [`--src-tls-verify=${o.tlsVerify}`] : []),
    ...(o.creds ? ['--src-creds', o.creds] : []),
    src,
    `oci:${destDir}:${tag}`,
  ];
}

/** Copies an image into a fresh OCI layout directory; skopeo's failures become barepod errors that say what to do. */
export async function copyImage(src: string, destDir: string, tag: string, name: string, o: CopyOptions = {}): Promise<void> {
  const skopeo = requireBinary('skopeo', 'BAREPOD_SKOPEO');
  const argv = copyArgv(skopeo, src, destDir, tag, o);
  const started = performance.now();
  const shown = argv.map((a, i) => (argv[i - 1] === '--src-creds' ? '(credentials)' : a));
  if (explaining) explainRun(shellWords(shown));
  // in the caller's process group: a Ctrl-C of `barepod pull` stops skopeo too
  const run = launch(argv, {
    stdio: ['ignore', o.showProgress ? 2 : 'ignore', 'pipe'],
    program: 'skopeo',
    shown,
    missingHint: 'run scripts/setup, or: apt-get install skopeo',
  });
  const err: Buffer[] = [];
  run.child.stderr!.on('data', (d: Buffer) => err.push(d));
  const { code } = await run.exited.finally(() => trace(argv.join(' '), started));
  const stderr = { code, text: Buffer.concat(err).toString('utf8') };
  if (stderr.code !== 0) throw classifyCopyError(argv, stderr.text, name);
}

/** Turns skopeo's error text into an error with a stable code and a hint naming the fix. */
export function classifyCopyError(argv: string[], stderr: string, name: string): BarepodError {
  const text = stderr.trim().split('\n').filter(Boolean).pop() ?? 'no error output';
  const detail = text
    .replace(/^time="[^"]*" level=\w+ msg="?/, '')
    .replace(/"$/, '')
    .replace(/\\"/g, '"');
  const src = argv.find((a) => /^(docker|oci|oci-archive|docker-archive):/.test(a)) ?? name;
  const registry = /^docker:\/\/([^/]+)\//.exec(src)?.[1];
  const withTool = (e: BarepodError) => Object.assign(e, { argv, stderr });
  if (/server gave HTTP response to HTTPS client/i.test(stderr)) {
    return withTool(
      new BarepodError('unreachable', `registry ${registry} speaks plain HTTP, not HTTPS: ${detail}`, { hint: 'for a local registry add --tls-verify=false' }),
    );
  }
  if (/x509:|certificate (is|signed)|tls: /i.test(stderr)) {
    return withTool(
      new BarepodError('unreachable', `the TLS certificate of ${registry ?? src} is not trusted: ${detail}`, {
        hint: 'install its CA certificate, or for a local registry add --tls-verify=false',
      }),
    );
  }
  if (
    /unauthorized|authentication required|access denied|denied:|requested access to the resource is denied|invalid username\/password|\b401\b/i.test(stderr)
  ) {
    return withTool(
      new BarepodError('unauthorized', `${registry ?? src} refused the credentials for ${name}: ${detail}`, {
        hint: `log in with \`skopeo login ${registry ?? 'REGISTRY'}\` (barepod uses skopeo's auth files: $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json), or pass --creds USER:PASSWORD; a private image may also just not exist`,
      }),
    );
  }
  if (
    /manifest unknown|name unknown|not found|no such file or directory|does not exist|no descriptor found|no image found|reference .* not found/i.test(
      stderr,
    ) &&
    !/dial tcp|lookup /i.test(stderr)
  ) {
    return withTool(
      new BarepodError('not-found', `image ${name} not found: ${detail}`, {
        hint: 'check the name and tag (or the path of the layout/archive); local images: barepod images',
      }),
    );
  }
  if (
    /connection refused|no such host|i\/o timeout|network is unreachable|no route to host|dial tcp|TLS handshake timeout|connection reset|EOF$|context deadline exceeded|server misbehaving/i.test(
      stderr,
    )
  ) {
    return withTool(
      new BarepodError('unreachable', `registry ${registry ?? src} is unreachable: ${detail}`, {
        hint: 'check the registry name, that it is running, and the network (proxy, DNS); for a plain-HTTP local registry add --tls-verify=false',
      }),
    );
  }
  if (/no space left on device/i.test(stderr)) {
    return withTool(
      new BarepodError('disk-full', `no space left while pulling ${name}: ${detail}`, {
        hint: 'free space where the image store is (BAREPOD_IMAGES or /var/lib/barepod/images); nothing partial was kept',
      }),
    );
  }
  if (/digest did not match|digest mismatch|does not match|unexpected EOF|invalid tar header|gzip: invalid/i.test(stderr)) {
    return withTool(
      new BarepodError('corrupt', `a blob of ${name} is corrupt: ${detail}`, { hint: 'pull again; if it persists, the source itself is broken' }),
    );
  }
  return new ToolError(argv, stderr, `skopeo could not copy ${name}: ${detail}`);
}
