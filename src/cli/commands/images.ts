import type { Command } from 'commander';
import { BarepodError } from '../../errors.js';
import { shortName } from '../../plan/image-ref.js';
import { importImage, inspectImage, listImages, pullImage, removeImage, type ImageInspectView } from '../../pod/images.js';
import { collect } from '../common.js';
import { requireRoot, resolveSettings } from '../../runtime/host.js';
import type { StoredImage } from '../../runtime/image-store.js';
import { humanSize, printJson, printTable, progressPrinter } from '../output.js';

/** Parses --tls-verify=true|false (passed to skopeo as --src-tls-verify). */
export function parseTlsVerify(v: unknown): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === true || v === 'true') return true;
  if (v === 'false') return false;
  throw new BarepodError('invalid-value', `--tls-verify "${String(v)}": must be true or false`);
}

const shortDigest = (d: string | null) => (d ? d.slice('sha256:'.length, 'sha256:'.length + 12) : '-');

function printStored(img: StoredImage, verb: string, json: boolean): void {
  if (json) printJson({ name: img.name, digest: img.digest, size: img.size, layers: img.layers, created: img.created ?? null });
  else process.stdout.write(`${verb} ${img.name} ${img.digest} (${img.layers.length} layer${img.layers.length === 1 ? '' : 's'}, ${humanSize(img.size)})\n`);
}

/** `barepod pull`, `images`, `rmi`, `import`: the image store. */
export function registerImages(program: Command): void {
  program
    .command('pull')
    .description('pull an image with skopeo into the image store (layers verified and unpacked once)')
    .argument('<source>', 'REF (a registry, e.g. nginx:1.27, localhost:5000/app:1), docker://REF, oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE')
    .option('--tls-verify <bool>', "verify the registry's TLS certificate and require HTTPS (false for a local plain-HTTP registry)")
    .option('--creds <user:password>', "credentials for the registry (default: skopeo's auth files)")
    .option('--arch <arch>', "architecture to pick from a manifest list (default: this host's)")
    .option('--name <name>', 'store it under this name (default: the reference; localhost/<file name>:<tag> for oci:, oci-archive:, docker-archive:)')
    .option('--json', 'print the stored image as JSON (and no progress)')
    .addHelpText(
      'after',
      `
Examples:
  barepod pull docker.io/library/nginx:1.27
  barepod pull localhost:5000/app:1 --tls-verify=false
  barepod pull oci:/srv/layouts/app:v1 --name app:v1
  barepod pull oci-archive:app.tar
  barepod pull docker-archive:saved.tar --name saved:1 --json`,
    )
    .action(async (source: string, o: Record<string, unknown>) => {
      requireRoot();
      const json = o.json === true;
      const img = await pullImage(resolveSettings(), source, {
        tlsVerify: parseTlsVerify(o.tlsVerify),
        creds: o.creds as string | undefined,
        arch: o.arch as string | undefined,
        name: o.name as string | undefined,
        progress: progressPrinter(json),
      });
      printStored(img, 'pulled', json);
    });

  program
    .command('images')
    .description('list images: the built-in busybox and those of the image store')
    .option('--json', 'print as JSON (full digests, every layer)')
    .addHelpText('after', '\nExamples:\n  barepod images\n  barepod images --json')
    .action((o: { json?: boolean }) => {
      const images = listImages(resolveSettings());
      if (o.json) return printJson(images);
      printTable(
        ['NAME', 'DIGEST', 'SIZE', 'LAYERS', 'CREATED'],
        images.map((i) => [
          i.builtin ? `${i.name} (built-in)` : shortName(i.name),
          shortDigest(i.digest),
          humanSize(i.size),
          i.builtin ? '1' : String(i.layers.length),
          i.created?.slice(0, 19).replace('T', ' ') ?? '-',
        ]),
      );
    });

  program
    .command('rmi')
    .description('remove images from the store (refused while a container of a pod uses one); layers other images share stay')
    .argument('<image...>', 'name or digest (or an unambiguous prefix of 12+ hex digits)')
    .option('--json', 'print the removed images as JSON')
    .addHelpText('after', '\nExamples:\n  barepod rmi nginx:1.27\n  barepod rmi localhost:5000/app:1 3f1e2d4c5b6a')
    .action(async (refs: string[], o: { json?: boolean }) => {
      requireRoot();
      const removed: StoredImage[] = [];
      for (const ref of refs) removed.push(await removeImage(resolveSettings(), ref));
      if (o.json) printJson(removed.map((i) => ({ name: i.name, digest: i.digest })));
      else for (const i of removed) process.stdout.write(`removed ${i.name} ${i.digest}\n`);
    });

  program
    .command('import')
    .description('import a plain root filesystem tarball (e.g. from `docker export`; gzip or not) as a one-layer image')
    .argument('<tarball>', 'the rootfs tar file')
    .argument('<name>', 'NAME[:TAG] to store it under (a short name is local: localhost/NAME[:TAG], never pulled)')
    .option(
      '-c, --change <instruction>',
      'a Dockerfile instruction for the image config: CMD, ENTRYPOINT (JSON array or shell form), ENV, WORKDIR, USER (repeatable, applied in order)',
      collect,
      [],
    )
    .option('--json', 'print the stored image as JSON')
    .addHelpText(
      'after',
      `
Examples:
  barepod import rootfs.tar myimg:1
  barepod import rootfs.tar.gz web --change 'CMD ["nginx", "-g", "daemon off;"]' --change 'ENV TZ=UTC LANG=C.UTF-8'
  barepod import app.tar app:2 -c 'ENTRYPOINT ["/app"]' -c 'WORKDIR /srv' -c 'USER 1000:1000'
  barepod import tools.tar tools -c "CMD echo ready && exec sleep infinity"   # shell form: /bin/sh -c '...'
  barepod run --pod web --name app --image myimg:1 -- /bin/sh -c 'echo hi'
  barepod image inspect web

A short NAME is stored as localhost/NAME (tag latest when none), a local image
run and up never pull. In a manifest write image: localhost/NAME[:TAG], or
NAME:TAG with a tag other than latest (IfNotPresent finds it); a bare NAME or
NAME:latest means Docker Hub's image, pulled Always, as in Kubernetes.`,
    )
    .action(async (file: string, name: string, o: { json?: boolean; change: string[] }) => {
      requireRoot();
      const json = o.json === true;
      printStored(await importImage(resolveSettings(), file, name, { progress: progressPrinter(json), changes: o.change }), 'imported', json);
    });

  const image = program.command('image').description('image subcommands: inspect (pull, images, rmi and import are top-level commands)');
  image
    .command('inspect')
    .description('show images: name, digest, layers and the config a container starts from (Entrypoint, Cmd, Env, WorkingDir, User)')
    .argument('<image...>', 'name (a short name as run resolves it), digest, or an unambiguous prefix of 12+ hex digits')
    .option('--json', 'print as JSON (an array, one object per image)')
    .addHelpText('after', "\nExamples:\n  barepod image inspect web\n  barepod image inspect localhost/web:latest --json | jq '.[0].config.Cmd'")
    .action((refs: string[], o: { json?: boolean }) => {
      const views = refs.map((r) => inspectImage(resolveSettings(), r));
      if (o.json) return printJson(views);
      process.stdout.write(views.map(imageText).join('\n'));
    });
}

/** `image inspect` for people: one block per image. */
function imageText(v: ImageInspectView): string {
  const c = v.config;
  const json = (x: unknown) => (x === undefined ? '-' : JSON.stringify(x));
  const env = Array.isArray(c.Env) ? (c.Env as string[]) : [];
  const lines = [
    `Name:        ${v.name}${v.builtin ? ' (built-in)' : ''}`,
    `Digest:      ${v.digest ?? '-'}`,
    `Created:     ${v.created ?? '-'}`,
    `Platform:    ${v.os}/${v.architecture ?? '-'}`,
    `Size:        ${humanSize(v.size)}`,
    `Layers:      ${v.layers.length}${v.layers.map((l) => `\n  ${l.digest}`).join('')}`,
    `Entrypoint:  ${json(c.Entrypoint)}`,
    `Cmd:         ${json(c.Cmd)}`,
    `Env:         ${env.length ? env.join('\n             ') : '-'}`,
    `WorkingDir:  ${typeof c.WorkingDir === 'string' && c.WorkingDir ? c.WorkingDir : '/'}`,
    `User:        ${typeof c.User === 'string' && c.User ? c.User : '(root)'}`,
  ];
  return lines.join('\n') + '\n';
}
