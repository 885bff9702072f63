// The gates Flagger asks before it moves a revision on. Automatic gates tied to this revision's
// load tests (checksum): promotion opens only once every load test of the revision passed, and
// rollback says "roll back now" as soon as one failed. Manual gates with Flagger's loadtester
// semantics (approve, halt, open/close/check for promotion and rollback), scoped to a revision:
// a gate opened for one checksum is closed for the next. A closed gate is a GateClosed (403,
// which Flagger does not retry and shows with its reason).

import type { Clock } from '../core/clock.ts';
import { GateClosed } from '../core/errors.ts';
import type { GateState, ManualGate, RunRecord, Store } from '../store/store.ts';

export interface Canary {
  namespace: string;
  name: string;
  /** Flagger's revision; '' when a person calls without one (gate/open by hand). */
  checksum: string;
}

export interface GateAnswer {
  /** One line Flagger puts in its event. */
  message: string;
}

const describeRun = (r: RunRecord) => `load test of phase ${r.phase} (run ${r.runId})`;

export function createGates(deps: { store: Store; clock: Clock }) {
  const { store } = deps;

  // The revision a call is about: its own checksum (noted as the canary's newest), else the
  // newest Flagger sent.
  async function revisionOf(c: Canary): Promise<string | null> {
    if (c.checksum !== '') {
      await store.noteRevision(c.namespace, c.name, c.checksum);
      return c.checksum;
    }
    return (await store.lastRevision(c.namespace, c.name)) ?? null;
  }

  async function manualCheck(c: Canary, gate: ManualGate, what: string): Promise<GateAnswer> {
    const state = await store.gate(c.namespace, c.name, gate);
    const revision = await revisionOf(c);
    const forThis = state?.open && (state.checksum === null || state.checksum === revision);
    if (!forThis) {
      throw new GateClosed(
        `${what} gate of ${c.namespace}/${c.name} is closed${revision ? ` for revision ${revision}` : ''}`,
      );
    }
    if (state.checksum === null && revision) {
      await store.setGate(c.namespace, c.name, gate, { open: true, checksum: revision });
    }
    return { message: `${what} gate of ${c.namespace}/${c.name} is open` };
  }

  async function setManual(c: Canary, gate: ManualGate, open: boolean): Promise<GateAnswer> {
    const state: GateState = { open, checksum: await revisionOf(c) };
    await store.setGate(c.namespace, c.name, gate, state);
    const verb = open ? 'opened' : 'closed';
    const what = gate === 'confirm' ? 'promotion' : 'rollback';
    return {
      message: `${what} gate of ${c.namespace}/${c.name} ${verb}${state.checksum ? ` for revision ${state.checksum}` : ''}`,
    };
  }

  return {
    /** 200 only when every load test of this revision passed. */
    async promotion(c: Canary): Promise<GateAnswer> {
      const runs = await store.runsOf(c.namespace, c.name, c.checksum);
      if (runs.length === 0)
        throw new GateClosed(`no load test has run for revision ${c.checksum}`);
      const running = runs.find((r) => r.verdict === null);
      if (running) {
        const seconds = Math.round((deps.clock.now() - running.startedAt) / 1000);
        throw new GateClosed(`${describeRun(running)} running for ${seconds}s`);
      }
      const failed = runs.find((r) => r.verdict !== 'passed');
      if (failed)
        throw new GateClosed(`${describeRun(failed)} ${failed.verdict}: ${failed.reason ?? ''}`);
      return { message: `all ${runs.length} load tests of revision ${c.checksum} passed` };
    },

    /** 200 ("roll back now") when a load test of this revision failed. */
    async rollback(c: Canary): Promise<GateAnswer> {
      const runs = await store.runsOf(c.namespace, c.name, c.checksum);
      const failed = runs.find((r) => r.verdict === 'failed' || r.verdict === 'error');
      if (!failed) throw new GateClosed(`no load test of revision ${c.checksum} failed`);
      return { message: `roll back: ${describeRun(failed)} failed: ${failed.reason ?? ''}` };
    },

    approve: async (c: Canary): Promise<GateAnswer> => ({
      message: `${c.namespace}/${c.name} approved`,
    }),
    halt: async (c: Canary): Promise<GateAnswer> => {
      throw new GateClosed(`${c.namespace}/${c.name} halted`);
    },
    check: (c: Canary) => manualCheck(c, 'confirm', 'promotion'),
    open: (c: Canary) => setManual(c, 'confirm', true),
    close: (c: Canary) => setManual(c, 'confirm', false),
    rollbackCheck: (c: Canary) => manualCheck(c, 'rollback', 'rollback'),
    rollbackOpen: (c: Canary) => setManual(c, 'rollback', true),
    rollbackClose: (c: Canary) => setManual(c, 'rollback', false),
  };
}

export type Gates = ReturnType<typeof createGates>;
