/**
 * A container as written (a manifest's container, `run`'s flags) made into
 * the container barepod records, once its image is known: Kubernetes'
 * entrypoint/cmd/user rules, applied after the pull, for `run` and `up` alike.
 * Pure: the image's defaults and digest are passed in.
 */
import { BarepodError } from '../errors.js';
import type { ContainerDefinition } from '../model.js';
import { imageConfigField, imageWorkdir, mergeEnv, numericUser, resolveArgv, type ImageDefaults } from './image-ref.js';

/** A container as written: what its image supplies (argv, env, workdir, user) is not applied yet. */
export type ContainerSpec = Omit<ContainerDefinition, 'args' | 'workdir' | 'user' | 'userName' | 'userFromImage' | 'imageId'> & {
  /** Kubernetes `command`: replaces the image's entrypoint (and drops its cmd) */
  command?: string[] | undefined;
  /** Kubernetes `args`: replace the image's cmd */
  args?: string[] | undefined;
  /** the container's own working directory; the image's WorkingDir when absent */
  workdir?: string | undefined;
  /** securityContext.runAsUser */
  runAsUser?: number | undefined;
  /** securityContext.runAsGroup */
  runAsGroup?: number | undefined;
  /** `run --user`: UID[:GID] or NAME[:GROUP], as typed */
  userText?: string | undefined;
};

/** What a container takes from its image: its defaults and, for a stored image, its manifest digest. */
export interface ContainerImage {
  defaults: ImageDefaults;
  digest?: string | undefined;
}

const MAX_ID = 0xfffffffe;
const USER_FIX = "fix the image's USER, or run as another user: -u UID[:GID]";

/**
 * The recorded container: argv by Kubernetes' rule (command replaces the
 * entrypoint and drops the cmd; args replace the cmd), the image's env
 * under the container's, its WorkingDir unless the container has one, and
 * the user: `--user`, else runAsUser/runAsGroup, else the image's USER (a
 * name is resolved in the rootfs at each launch). A stored image's digest
 * is recorded, so every launch uses that very image. The argv may be empty
 * (an image with neither entrypoint nor cmd): each caller says so in its words.
 */
export function resolveContainer(spec: ContainerSpec, image: ContainerImage): ContainerDefinition {
  const { name, kind, image: ref, rootfs, command, args: writtenArgs, workdir: writtenDir, runAsUser, runAsGroup, userText, env, ...rest } = spec;
  const d = image.defaults;
  const imageName = ref ?? 'busybox';
  const workdir = writtenDir ?? imageWorkdir(d.workdir, imageName);
  let user = { uid: runAsUser ?? 0, gid: runAsGroup ?? runAsUser ?? 0 };
  let userName: string | undefined;
  const fromImage = userText === undefined && runAsUser === undefined && d.user !== '';
  const text = userText ?? (fromImage ? d.user : undefined);
  if (text !== undefined && text !== '') {
    const label = fromImage ? imageConfigField(imageName, 'User', text) : `--user "${text}"`;
    const hint = fromImage ? { hint: USER_FIX } : {};
    const numeric = numericUser(text);
    if (numeric) {
      if (numeric.uid > MAX_ID || numeric.gid > MAX_ID)
        throw new BarepodError('invalid-value', `${fromImage ? label : `--user "${numeric.uid}:${numeric.gid}"`}: uid and gid must be at most ${MAX_ID}`, hint);
      user = fromImage && runAsGroup !== undefined ? { uid: numeric.uid, gid: runAsGroup } : numeric;
    } else {
      if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?(:[A-Za-z0-9_.][A-Za-z0-9_.-]*)?$/.test(text))
        throw new BarepodError('invalid-value', `${label}: must be UID[:GID] or NAME[:GROUP]`, hint);
      userName = text;
      if (userText !== undefined) user = { uid: 0, gid: 0 };
    }
  }
  return {
    name,
    kind,
    image: ref,
    rootfs,
    ...(image.digest ? { imageId: image.digest } : {}),
    args: resolveArgv(d, command, writtenArgs),
    env: mergeEnv(d.env, env),
    workdir,
    user,
    ...(userName ? { userName, ...(fromImage ? { userFromImage: true } : {}) } : {}),
    ...rest,
  };
}
