// A test made of several files (script_configmap): the entry k6 runs — a script, or a `.tar` k6
// archive run as such — and every other key of the ConfigMap laid out beside it, so relative
// imports and open() work. Built from a ConfigMap's `data` and `binaryData` with the limits and
// key rules checked here; the values are never echoed in errors.

import { BadRequest } from '../core/errors.ts';
import { isFileKey, type ConfigMapRef } from '../flagger/payload.ts';

/** At most this many keys and this many bytes (decoded) per ConfigMap script. The API server
 * caps a ConfigMap near 1 MiB; these bound what k6gate writes to disk even if it does not. */
const MAX_BUNDLE_FILES = 256;
const MAX_BUNDLE_BYTES = 4 * 1024 * 1024;

const FIELD = 'metadata.script_configmap';

export interface ScriptBundle {
  /** The ConfigMap the files came from. */
  configMap: string;
  /** True when that ConfigMap is on the cluster (pod runners mount it by reference); false for
   * files from elsewhere (`k6gate run archive.tar`), which a pod run copies into its own. */
  inCluster: boolean;
  /** The key k6 runs: a script, or a k6 archive when it ends in `.tar`. */
  entry: string;
  /** Every key of the ConfigMap, as file contents. */
  files: Readonly<Record<string, Uint8Array>>;
  /** sha256 over names and contents: a changed ConfigMap is a different run. */
  digest: string;
}

interface ConfigMapObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** The bundle of a ConfigMap, or BadRequest naming metadata.script_configmap. */
export function bundleFromConfigMap(
  cm: ConfigMapObject,
  ref: ConfigMapRef,
  inCluster = true,
): ScriptBundle {
  // No prototype: a key named __proto__ or constructor is a file like any other.
  const files: Record<string, Uint8Array> = Object.create(null) as Record<string, Uint8Array>;
  const entries = [
    ...Object.entries(cm.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'utf8')] as const),
    ...Object.entries(cm.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')] as const),
  ];
  if (entries.length > MAX_BUNDLE_FILES) {
    throw new BadRequest(
      FIELD,
      `ConfigMap "${ref.name}" has ${entries.length} keys; at most ${MAX_BUNDLE_FILES} are allowed`,
    );
  }
  let bytes = 0;
  for (const [key, content] of entries) {
    if (!isFileKey(key)) {
      throw new BadRequest(
        FIELD,
        `ConfigMap "${ref.name}" has a key that is not a plain file name`,
      );
    }
    bytes += content.byteLength;
    files[key] = new Uint8Array(content);
  }
  if (bytes > MAX_BUNDLE_BYTES) {
    throw new BadRequest(
      FIELD,
      `ConfigMap "${ref.name}" holds ${bytes} bytes; at most ${MAX_BUNDLE_BYTES} are allowed`,
    );
  }
  if (!Object.hasOwn(files, ref.key)) {
    const keys = Object.keys(files).sort().slice(0, 20).join(', ') || 'none';
    throw new BadRequest(
      FIELD,
      `ConfigMap "${ref.name}" has no key "${ref.key}" (its keys: ${keys})`,
    );
  }
  if (files[ref.key]!.byteLength === 0) {
    throw new BadRequest(FIELD, `the entry "${ref.key}" of ConfigMap "${ref.name}" is empty`);
  }
  return { configMap: ref.name, inCluster, entry: ref.key, files, digest: digestOf(files) };
}

function digestOf(files: Record<string, Uint8Array>): string {
  const hash = new Bun.CryptoHasher('sha256');
  for (const key of Object.keys(files).sort()) {
    hash.update(`${key}\n${files[key]!.byteLength}\n`);
    hash.update(files[key]!);
  }
  return hash.digest('hex');
}
