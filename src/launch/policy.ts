// Who may launch what, checked after validation and before admission (no slot, no API call):
// the canary's namespace against --allowed-namespaces and the caller's own namespaces (auth
// file), and every kubernetes_secrets reference against the canary's namespace (plus
// --secrets-namespaces), with at most --max-secret-refs references.

import { BadRequest, Forbidden } from '../core/errors.ts';
import { compileGlobs } from '../core/globs.ts';
import type { LaunchRequest } from '../flagger/payload.ts';
import type { Client } from '../auth/clients.ts';

export interface PolicySettings {
  allowedNamespaces: readonly string[];
  secretsNamespaces: readonly string[];
  maxSecretRefs: number;
}

/** Throws Forbidden (403) or BadRequest (400) naming the field; `client` is undefined when no
 * auth file is configured. */
export type LaunchPolicy = (req: LaunchRequest, client: Client | undefined) => void;

export function createLaunchPolicy(settings: PolicySettings): LaunchPolicy {
  const allowed = compileGlobs(settings.allowedNamespaces, true);
  const extraSecretNamespaces = compileGlobs(settings.secretsNamespaces, false);
  return (req, client) => {
    if (!allowed(req.namespace)) {
      throw new Forbidden(
        'namespace',
        `namespace "${req.namespace}" may not run tests here (not in --allowed-namespaces)`,
      );
    }
    if (client && !client.mayUse(req.namespace)) {
      throw new Forbidden(
        'namespace',
        `client "${client.name}" may not run tests for namespace "${req.namespace}"`,
      );
    }
    if (req.secretRefs.length > settings.maxSecretRefs) {
      throw new BadRequest(
        'metadata.kubernetes_secrets',
        `${req.secretRefs.length} secret references; at most ${settings.maxSecretRefs} are allowed (--max-secret-refs)`,
      );
    }
    for (const ref of req.secretRefs) {
      if (ref.namespace !== req.namespace && !extraSecretNamespaces(ref.namespace)) {
        throw new Forbidden(
          `metadata.kubernetes_secrets.${ref.env}`,
          `secrets may only come from the canary's namespace "${req.namespace}", not "${ref.namespace}" (see --secrets-namespaces)`,
        );
      }
    }
  };
}
