// The rights each pod runner needs in a canary namespace, as the chart's runner-rbac.yaml
// grants them: the kube tests grant exactly these, and the chart test checks it renders them.

const COMMON = [
  { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
];

export const RUNNER_RULES = {
  job: [
    {
      apiGroups: ['batch'],
      resources: ['jobs'],
      verbs: ['create', 'get', 'list', 'watch', 'patch', 'delete'],
    },
    ...COMMON,
  ],
  'k6-operator': [
    {
      apiGroups: ['k6.io'],
      resources: ['testruns'],
      verbs: ['create', 'get', 'list', 'watch', 'patch', 'delete'],
    },
    ...COMMON,
  ],
};

/** What script_configmap needs in a canary namespace, as the chart's script-rbac.yaml grants it. */
export const SCRIPT_CONFIGMAP_RULES = [
  { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
];

/** What Events on the Canary need in a canary namespace, as the chart's events-rbac.yaml grants. */
export const CANARY_EVENT_RULES = [{ apiGroups: [''], resources: ['events'], verbs: ['create'] }];
