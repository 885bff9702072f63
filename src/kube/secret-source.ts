// The secret seam: turns `kubernetes_secrets` references into values. The real one reads the
// Kubernetes API (secrets.ts); tests use their own.

import type { SecretRefSpec } from '../flagger/payload.ts';

export interface SecretSource {
  /** Values by environment variable name; throws BadRequest/Upstream naming the secret. */
  resolve(refs: readonly SecretRefSpec[], signal?: AbortSignal): Promise<Record<string, string>>;
}
