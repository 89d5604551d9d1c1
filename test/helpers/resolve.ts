/** A manifest parsed as `up` sees it after the pull: each container resolved against its image's defaults (the built-in busybox's unless given). */
import { parseManifests, type ParseOptions } from '../../src/manifest/pod.js';
import { resolveContainer } from '../../src/plan/container.js';
import type { ImageDefaults } from '../../src/plan/image-ref.js';

export const BUSYBOX_DEFAULTS: ImageDefaults = { entrypoint: [], cmd: ['sh'], env: [], workdir: '/', user: '' };

export function parseResolved(text: string, o: ParseOptions & { imageDefaults?: (image: string) => Partial<ImageDefaults> } = {}) {
  const r = parseManifests(text, o);
  const pods = r.pods.map((p) => ({
    ...p,
    containers: p.containers.map((c) => resolveContainer(c, { defaults: { ...BUSYBOX_DEFAULTS, ...(o.imageDefaults?.(c.image ?? 'busybox') ?? {}) } })),
  }));
  return { ...r, pods };
}
