// Test preload: an unhandled rejection or uncaught exception anywhere fails the run loudly.
process.on('unhandledRejection', (reason) => {
  console.error('unhandled rejection in test run:', reason);
  process.exitCode = 1;
  throw reason;
});

// One kube-apiserver serves the whole run (each file, in a `bun test --parallel` worker: there
// afterAll runs after every file); stop it and anything else started.
import { afterAll } from 'bun:test';
import { stopAllKubeEnvs } from './kube-apiserver.ts';
import { stopKubeCluster } from './kube-cluster.ts';
import { stopOperatorDouble } from './k6-operator-double.ts';
import { stopPostgres } from './postgres.ts';

// Its own time limit: each server gets SIGTERM and 5 s before SIGKILL, so on a loaded machine
// stopping a cluster and an API server can pass the 5 s default (a CI run saw it, as a failure).
afterAll(async () => {
  await stopOperatorDouble();
  await stopKubeCluster();
  await stopAllKubeEnvs();
  await stopPostgres();
}, 60_000);
