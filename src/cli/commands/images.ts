import type { Command } from 'commander';
import { BarepodError } from '../../errors.js';
import { shortName } from '../../plan/image-ref.js';
import { importImage, listImages, pullImage, removeImage } from '../../pod/images.js';
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
  else process.stdout.write(`${verb} ${img.name} ${img.digest} (${img.layers.length} layers, ${humanSize(img.size)})\n`);
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
    .argument('<name>', 'NAME[:TAG] to store it under')
    .option('--json', 'print the stored image as JSON')
    .addHelpText('after', "\nExamples:\n  barepod import rootfs.tar myimg:1\n  barepod run --pod web --name app --image myimg:1 -- /bin/sh -c 'echo hi'")
    .action(async (file: string, name: string, o: { json?: boolean }) => {
      requireRoot();
      const json = o.json === true;
      printStored(await importImage(resolveSettings(), file, name, progressPrinter(json)), 'imported', json);
    });
}
