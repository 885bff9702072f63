// What a local k6 script can reach, against the compiled daemon running as an unprivileged user
// (root bypasses /proc protections, so these run as nobody through setpriv). The "k6" here is a
// shell script standing in for any code k6 runs: it does what a hostile script or extension would.

import { afterAll, describe, expect, test } from 'bun:test';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPILED, flaggerPayload, postLaunch, REPO, startChildDaemon } from '../helpers/daemon.ts';
import { testCgroupDir } from '../helpers/cgroup.ts';
import { zombieChildren } from '../helpers/processes.ts';
import { cgroup2Mount } from '../../src/os/cgroup.ts';

const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
const NO_CLONE3 = [join(REPO, 'node_modules/.bin/bun'), join(REPO, 'test/fixtures/no-clone3.ts')];
const why =
  process.getuid?.() !== 0
    ? 'not root, so cannot switch to an unprivileged user'
    : !Bun.which('setpriv')
      ? 'setpriv not installed'
      : !existsSync(COMPILED)
        ? 'dist/k6gate not built'
        : undefined;
if (why) console.log(`SKIP hardening tests: ${why}`);
const describeHardening = why ? describe.skip : describe;

const dir = mkdtempSync(join(tmpdir(), 'k6gate-hardening-'));
chmodSync(dir, 0o777);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A fake k6 that prints the banner line k6gate waits for, then runs `body`.
function fakeK6(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\necho "         output: -"\n${body}\n`, { mode: 0o755 });
  return path;
}

async function daemonAsNobody(k6: string, args: string[] = [], env: Record<string, string> = {}) {
  const temp = mkdtempSync(join(dir, 'tmp-'));
  chmodSync(temp, 0o777);
  const d = await startChildDaemon({
    compiled: true,
    wrap: NOBODY,
    args: ['--k6-binary', k6, '--temp-dir', temp, ...args],
    env,
  });
  return { d, temp };
}

// A cgroup v2 directory delegated to nobody as systemd delegates one (the directory and the files
// a delegate writes), or undefined where no cgroup v2 hierarchy is writable.
function delegatedCgroup(): string | undefined {
  const path = testCgroupDir(`delegated-${Date.now()}`); // one per test: each removes its own
  if (!path) return undefined;
  for (const entry of ['', 'cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control'])
    chownSync(join(path, entry), 65534, 65534);
  return path;
}

// A process chain two levels deep whose every level respawns its child whenever it dies (each
// process writes its pid to `pids`); run `sh <chain> 0` to start it.
function refillingChain(name: string) {
  const pids = join(dir, `${name}.pids`);
  const chain = join(dir, `${name}.sh`);
  writeFileSync(
    chain,
    `#!/bin/sh\necho $$ >> ${pids}\nif [ "$1" -lt 2 ]; then\n  while true; do sh ${chain} $(($1 + 1)) & wait $!; done\nelse\n  while true; do sleep 0.05; done\nfi\n`,
    { mode: 0o755 },
  );
  /** Kills what a failed test left of the chain (a level may respawn once between kills). */
  const end = () => {
    for (let i = 0; i < 20 && Bun.spawnSync(['pkill', '-KILL', '-f', chain]).exitCode === 0; i++);
  };
  return { pids, chain, end };
}

const run = (url: string) =>
  postLaunch(url, flaggerPayload({ script: 'export default function () {}' }));

describeHardening('what a local script can reach (compiled daemon as uid 65534)', () => {
  test('a child cannot read /proc/<daemon>/environ: the tokens stay unseen', async () => {
    const k6 = fakeK6(
      'read-environ',
      'if cat /proc/$PPID/environ > /dev/null 2>&1; then echo "ENVIRON READABLE"; cat /proc/$PPID/environ | tr "\\0" "\\n"; else echo "ENVIRON DENIED"; fi',
    );
    const { d } = await daemonAsNobody(k6, [], {
      SLACK_TOKEN: 'xoxb-daemon-secret-1234',
      K6_CLOUD_TOKEN: 'cloud-secret-5678',
    });
    try {
      const res = await run(d.url);
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(text).toContain('ENVIRON DENIED');
      expect(text).not.toContain('xoxb-daemon-secret-1234');
      expect(text).not.toContain('cloud-secret-5678');
    } finally {
      await d.stop();
    }
  }, 30_000);

  test('a grandchild that leaves the process group (setsid) is dead within the kill grace', async () => {
    const pidFile = join(dir, 'escaped.pid');
    const k6 = fakeK6(
      'escape',
      `setsid sh -c 'echo $$ > ${pidFile}; exec sleep 300' &\nsleep 0.3\nexit 0`,
    );
    const { d } = await daemonAsNobody(k6, ['--kill-grace-period', '2s']);
    try {
      const res = await run(d.url);
      expect(res.status).toBe(200);
      const answeredAt = Date.now();
      const pid = Number(readFileSync(pidFile, 'utf8'));
      expect(pid).toBeGreaterThan(0);
      while (existsSync(`/proc/${pid}`) && Date.now() - answeredAt < 2000) await Bun.sleep(20);
      expect(existsSync(`/proc/${pid}`)).toBe(false); // killed and reaped: not even a zombie
      expect(
        d.logs.some(
          (r) =>
            r.msg === 'killing processes a k6 run left behind' &&
            (r.orphanPids as number[]).includes(pid),
        ),
      ).toBe(true);
      expect(zombieChildren(d.pid)).toEqual([]);
    } finally {
      await d.stop();
    }
  }, 30_000);

  test('a self-refilling chain two levels deep dies with its run; a later run sees none of it', async () => {
    // Level 0 leaves the process group; each level respawns its child whenever it dies, so a
    // sweep that kills one level at a time leaves the next one re-parented and refilling.
    const { pids, chain, end } = refillingChain('chain');
    const k6 = fakeK6(
      'refill',
      `if [ -z "$SECOND" ]; then setsid sh ${chain} 0 >/dev/null 2>&1 & sleep 0.5; fi\necho "SEEN: $(pgrep -fc ${chain})"\nexit 0`,
    );
    const { d } = await daemonAsNobody(k6, ['--kill-grace-period', '2s']);
    try {
      expect((await run(d.url)).status).toBe(200);
      const started = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
      expect(started.length).toBeGreaterThanOrEqual(3); // all three levels ran
      const answeredAt = Date.now();
      const alive = () => started.filter((p) => existsSync(`/proc/${p}`));
      while (alive().length > 0 && Date.now() - answeredAt < 3000) await Bun.sleep(50);
      expect(alive()).toEqual([]); // killed and reaped, every level
      await Bun.sleep(500); // nothing refills afterwards
      const again = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
      expect(again.filter((p) => existsSync(`/proc/${p}`))).toEqual([]);
      const later = await postLaunch(
        d.url,
        flaggerPayload({ script: 'export default function () {}', env_vars: '{"SECOND":"1"}' }),
      );
      expect(await later.text()).toContain('SEEN: 0');
      expect(zombieChildren(d.pid)).toEqual([]);
    } finally {
      await d.stop();
      end();
    }
  }, 30_000);

  // clone3 refused: systemd's RestrictNamespaces= (the packaged unit sets it) answers ENOSYS for
  // it, and Bun would then join the cgroup in the child before exec, holding the event loop for
  // the kernel's RCU wait; k6gate moves k6 in after the spawn instead.
  // Spawned in, the stand-in's first command already sees its run cgroup and a chain it forks at
  // once is caught whole; moved in, it starts up first as k6 does (its runtime takes tens of
  // milliseconds before the script runs; the move needs up to ~30 here).
  test.each([
    ['spawned into it (clone3)', [], 'at spawn', ''],
    ['moved in after the spawn (clone3 refused)', NO_CLONE3, 'moved in after spawn', 'sleep 0.1'],
  ])(
    'with a delegated cgroup (systemd Delegate=yes), k6 %s: the chain dies by cgroup.kill with its run',
    async (_how, refuse, joins, startUp) => {
      const delegated = delegatedCgroup();
      if (!delegated) {
        console.log('SKIP cgroup.kill: no cgroup v2 hierarchy root can write here');
        return;
      }
      const { pids, chain, end } = refillingChain('cgroup-chain');
      const seen = join(dir, 'cgroup-seen');
      const k6 = fakeK6(
        'cgroup-refill',
        `${startUp}\ncat /proc/self/cgroup > ${seen}\nsetsid sh ${chain} 0 >/dev/null 2>&1 & sleep 0.5\nexit 0`,
      );
      // The daemon starts inside the delegated cgroup, as systemd starts a Delegate=yes service.
      const enter = ['sh', '-c', `echo $$ > ${delegated}/cgroup.procs && exec "$@"`, 'sh'];
      const temp = mkdtempSync(join(dir, 'tmp-'));
      chmodSync(temp, 0o777);
      const d = await startChildDaemon({
        compiled: true,
        wrap: [...enter, ...refuse, ...NOBODY],
        args: ['--k6-binary', k6, '--temp-dir', temp, '--kill-grace-period', '2s'],
      });
      try {
        const start = await d.waitForLog((r) => r.runCgroups !== undefined);
        expect(start.runCgroups).toBe(delegated);
        expect(start.joins).toBe(joins);
        expect((await run(d.url)).status).toBe(200);
        const killed = await d.waitForLog(
          (r) => r.msg === 'killed the processes the run left in its cgroup',
        );
        expect(killed.killed).toBeGreaterThanOrEqual(3); // the three levels and their sleeps
        const { root, mount } = cgroup2Mount()!;
        const cgroupRoot = (root === '/' ? '' : root) + delegated.slice(mount.length);
        expect(readFileSync(seen, 'utf8')).toMatch(
          new RegExp(`^0::${cgroupRoot}/k6gate-run-[^/\\s]+$`, 'm'),
        );
        expect(readdirSync(delegated).filter((e) => e.startsWith('k6gate-run-'))).toEqual([]);
        // Dead at the answer; the zombies re-parented to the daemon are reaped by the next sweep.
        const started = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
        const answeredAt = Date.now();
        const left = () => started.filter((p) => existsSync(`/proc/${p}`));
        while (left().length > 0 && Date.now() - answeredAt < 3000) await Bun.sleep(50);
        expect(left()).toEqual([]);
        expect(zombieChildren(d.pid)).toEqual([]);
        // The cgroup took them all: the sweep found no live process to kill.
        expect(d.logs.some((r) => r.msg === 'killing processes a k6 run left behind')).toBe(false);
      } finally {
        await d.stop();
        end();
        rmdirSync(delegated);
      }
    },
    30_000,
  );

  test('a summary export the script made a FIFO or a link to /dev/zero: the answer comes, nothing read', async () => {
    // The run directory is k6's cwd; k6gate reads k6gate-summary.json there after k6 exits.
    for (const make of ['mkfifo k6gate-summary.json', 'ln -s /dev/zero k6gate-summary.json']) {
      const k6 = fakeK6(`summary-${make.split(' ')[0]}`, `${make}\nexit 0`);
      const { d } = await daemonAsNobody(k6);
      try {
        const res = await run(d.url);
        expect(res.status).toBe(200);
      } finally {
        await d.stop();
      }
    }
  }, 30_000);

  test('--run-cgroup naming a directory k6gate cannot use: exit 2 naming the setting', () => {
    const out = Bun.spawnSync([...NOBODY, COMPILED, 'serve', '--run-cgroup', '/proc/none']);
    expect(out.exitCode).toBe(2);
    expect(out.stderr.toString()).toContain('invalid value for --run-cgroup / RUN_CGROUP');
  });

  test('a 600 MB flood with a 1 MiB cap: no disk used, memory bounded, answer within the cap', async () => {
    const k6 = fakeK6(
      'flood',
      "head -c 600000000 /dev/zero | tr '\\0' 'x'\necho\necho END-OF-FLOOD",
    );
    const { d, temp } = await daemonAsNobody(k6, ['--max-output-bytes', String(1024 * 1024)]);
    const rss = () =>
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${d.pid}/status`, 'utf8'))?.[1]) * 1024;
    const diskUse = () =>
      readdirSync(temp, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .reduce((sum, e) => sum + statSync(join(e.parentPath, e.name)).size, 0);
    try {
      const before = rss();
      let peakDisk = 0;
      let peakRss = before;
      const pending = run(d.url);
      let done = false;
      void pending.finally(() => (done = true));
      while (!done) {
        peakDisk = Math.max(peakDisk, diskUse());
        peakRss = Math.max(peakRss, rss());
        await Bun.sleep(25);
      }
      const res = await pending;
      const text = await res.text();
      console.log(
        `flood: peak disk ${peakDisk} B, RSS ${(before / 2 ** 20).toFixed(1)} → peak ${(peakRss / 2 ** 20).toFixed(1)} MiB, answer ${text.length} B`,
      );
      expect(res.status).toBe(200);
      expect(text).toContain('bytes of output omitted');
      expect(text.trimEnd().endsWith('END-OF-FLOOD')).toBe(true);
      expect(Buffer.byteLength(text)).toBeLessThan(1024 * 1024 + 256);
      expect(peakDisk).toBeLessThan(64 * 1024); // the script file only
      expect(peakRss - before).toBeLessThan(64 * 2 ** 20);
    } finally {
      await d.stop();
    }
  }, 60_000);
});
