// The pod-runner test cluster itself (real apiserver, controller-manager, scheduler, kwok):
// a restricted Job's pod is bound, run and completed; kwok's chaos Stage ends one with the exit
// code a test asks for; a foreground delete removes the Job's pods (garbage collector).

import { beforeAll, expect, test } from 'bun:test';
import { describeKube } from '../helpers/kube-apiserver.ts';
import { getKubeCluster, type KubeCluster } from '../helpers/kube-cluster.ts';

const RESTRICTED = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
};

function job(
  name: string,
  podLabels: Record<string, string> = {},
  podAnnotations: Record<string, string> = {},
) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: { app: 'k6', ...podLabels }, annotations: podAnnotations },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 12345,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'k6',
              image: 'grafana/k6:2.1.0',
              args: ['run', '/scripts/test.js'],
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      },
    },
  };
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await Bun.sleep(200);
  }
}

describeKube('the kwok test cluster', () => {
  let cluster: KubeCluster;
  let ns: string;
  beforeAll(async () => {
    cluster = await getKubeCluster();
    ns = await cluster.env.createNamespace('cluster', RESTRICTED);
  }, 120_000);

  test('a restricted Job runs on the kwok node and succeeds', async () => {
    const { admin } = cluster.env;
    await admin('POST', `/apis/batch/v1/namespaces/${ns}/jobs`, job('pass'));
    const done = await until('job pass succeeded', async () => {
      const j = await admin('GET', `/apis/batch/v1/namespaces/${ns}/jobs/pass`);
      return j.status?.succeeded === 1 ? j : undefined;
    });
    expect(done.status.succeeded).toBe(1);
    const pods = await admin('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=job-name%3Dpass`);
    expect(pods.items).toHaveLength(1);
    expect(pods.items[0].spec.nodeName).toBe(cluster.node);
    expect(pods.items[0].status.containerStatuses[0].state.terminated.exitCode).toBe(0);
  }, 60_000);

  test("kwok's chaos Stage fails the k6 container with exit 99; a foreground delete removes the pods", async () => {
    const { admin } = cluster.env;
    await admin(
      'POST',
      `/apis/batch/v1/namespaces/${ns}/jobs`,
      job(
        'thresholds',
        { 'pod-container-running-failed.stage.kwok.x-k8s.io': 'true' },
        {
          'pod-container-running-failed.stage.kwok.x-k8s.io/exit-code': '99',
          'pod-container-running-failed.stage.kwok.x-k8s.io/reason': 'Error',
          'pod-container-running-failed.stage.kwok.x-k8s.io/delay': '200ms',
        },
      ),
    );
    const pod = await until('pod terminated', async () => {
      const pods = await admin(
        'GET',
        `/api/v1/namespaces/${ns}/pods?labelSelector=job-name%3Dthresholds`,
      );
      const p = pods.items[0];
      return p?.status?.containerStatuses?.[0]?.state?.terminated ? p : undefined;
    });
    expect(pod.status.containerStatuses[0].state.terminated).toMatchObject({
      exitCode: 99,
      reason: 'Error',
    });
    await until('job failed', async () => {
      const j = await admin('GET', `/apis/batch/v1/namespaces/${ns}/jobs/thresholds`);
      return (j.status?.failed ?? 0) >= 1 ? j : undefined;
    });
    await admin('DELETE', `/apis/batch/v1/namespaces/${ns}/jobs/thresholds`, {
      propagationPolicy: 'Foreground',
    });
    await until('pods and job gone', async () => {
      const pods = await admin(
        'GET',
        `/api/v1/namespaces/${ns}/pods?labelSelector=job-name%3Dthresholds`,
      );
      const jobs = await admin('GET', `/apis/batch/v1/namespaces/${ns}/jobs`);
      const left =
        pods.items.length +
        jobs.items.filter((j: { metadata: { name: string } }) => j.metadata.name === 'thresholds')
          .length;
      return left === 0 ? true : undefined;
    });
  }, 60_000);
});
