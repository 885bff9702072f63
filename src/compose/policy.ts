// The daemon's tenant policy from its settings: the runners a caller may use (--runners-allowed,
// whose default depends on whether a Kubernetes client is configured) and the limits every
// request meets (launch/policy.ts checks them). Refuses to start when --runner is a runner no
// caller may use, and says at start what a local script can reach when local is allowed beside
// a Kubernetes client.

import type { Limits } from '../auth/limits.ts';
import type { Config } from '../config/settings.ts';
import { UsageError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { RunnerKind } from '../flagger/payload.ts';
import type { PolicySettings } from '../launch/policy.ts';

/** --runners-allowed, or its default: local alone without a Kubernetes client, the pod runners
 * alone with one. */
function runnersAllowed(config: Pick<Config, 'runnersAllowed'>, hasKube: boolean) {
  if (config.runnersAllowed.length > 0) return config.runnersAllowed as RunnerKind[];
  return hasKube ? (['job', 'k6-operator'] as RunnerKind[]) : (['local'] as RunnerKind[]);
}

export function daemonPolicy(config: Config, hasKube: boolean, logger: Logger): PolicySettings {
  const runners = runnersAllowed(config, hasKube);
  if (!runners.includes(config.runner)) {
    throw new UsageError(
      `invalid value for --runner / RUNNER: "${config.runner}" is not in --runners-allowed / RUNNERS_ALLOWED (${runners.join(', ')}${config.runnersAllowed.length === 0 ? ', the default with a Kubernetes client' : ''}); ` +
        (config.runner === 'local'
          ? 'a local k6 script runs as k6gate and can read its service account token: list local in RUNNERS_ALLOWED to accept that, or use RUNNER=job'
          : 'list it in RUNNERS_ALLOWED'),
    );
  }
  if (hasKube && runners.includes('local')) {
    logger.warn(
      'local runs are allowed beside a Kubernetes client: a local k6 script runs as k6gate and can read what k6gate can (its service account token, hence the Secrets and pod rights its RBAC grants); keep local for one trusted team, or leave it out of RUNNERS_ALLOWED',
      { runnersAllowed: runners },
    );
  }
  const limits: Limits = {
    source: 'daemon',
    // Without a Kubernetes client only local exists: a pod runner is refused by the launch
    // service as not enabled, with what enabling it takes.
    runners: hasKube || config.runnersAllowed.length > 0 ? runners : undefined,
    images: config.runnerImagesAllowed,
    secrets: config.secretsAllowed,
    labelKeys: config.runnerLabelKeysAllowed,
    annotationKeys: config.runnerAnnotationKeysAllowed,
    nodeSelectorKeys: config.nodeSelectorKeysAllowed,
    tolerationKeys: config.tolerationKeysAllowed,
    maxResources: config.maxRunnerResources,
  };
  return { ...config, limits };
}
