// The auth file: validation, reload on change (last good version kept), and authentication.

import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUTH_FILE_GRACE_MS, loadClientDirectory, parseAuthFile } from '../../src/auth/clients.ts';
import { createCapturingLogger } from '../helpers/daemon.ts';
import { createManualClock } from '../helpers/manual-clock.ts';

const dir = mkdtempSync(join(tmpdir(), 'k6gate-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TOKEN_A = 'token-a-0123456789abcdef';
const TOKEN_B = 'token-b-0123456789abcdef';
const file = (clients: string) => `clients:\n${clients}`;
const A = `  - name: team-a\n    token: "${TOKEN_A}"\n    namespaces: ["team-a", "team-b-*"]\n`;
const B = `  - name: team-b\n    token: "${TOKEN_B}"\n    namespaces: ["team-b"]\n`;

describe('parseAuthFile', () => {
  test('clients with namespace globs', () => {
    const [a] = parseAuthFile(file(A));
    expect(a?.client.name).toBe('team-a');
    expect(['team-a', 'team-b-1', 'team-b-x-y'].map((ns) => a?.client.mayUse(ns))).toEqual([
      true,
      true,
      true,
    ]);
    expect(['team-b', 'team-ab', 'kube-system'].map((ns) => a?.client.mayUse(ns))).toEqual([
      false,
      false,
      false,
    ]);
  });
  test.each([
    ['no clients key', 'nobody: []', 'clients'],
    [
      'short token',
      file(`  - name: x\n    token: short\n    namespaces: [a]\n`),
      'clients.0.token: a token of at least 16 characters',
    ],
    [
      'no namespaces',
      file(`  - name: x\n    token: "${TOKEN_A}"\n    namespaces: []\n`),
      'clients.0.namespaces',
    ],
    [
      'bad glob',
      file(`  - name: x\n    token: "${TOKEN_A}"\n    namespaces: ["Team A"]\n`),
      'clients.0.namespaces.0: a namespace glob',
    ],
    [
      'a misspelt key',
      file(`  - name: x\n    tokn: "${TOKEN_A}"\n    namespaces: [a]\n`),
      'clients.0.tokn: unknown key; did you mean "token"?',
    ],
    [
      'a misspelt key whose right one is then missing',
      file(`  - name: x\n    token: "${TOKEN_A}"\n    namespace: [a]\n`),
      'clients.0.namespace: unknown key; did you mean "namespaces"?',
    ],
    [
      'a list given as a string',
      file(`  - name: x\n    token: "${TOKEN_A}"\n    namespaces: a\n`),
      'clients.0.namespaces: expected a list, such as [team-a]',
    ],
    ['duplicate names', file(A + A), 'client names must be unique'],
  ])('%s is refused, naming the field and never the token', (_what, text, message) => {
    let error = '';
    try {
      parseAuthFile(text);
    } catch (err) {
      error = (err as Error).message;
    }
    expect(error).toContain(message);
    expect(error).not.toContain(TOKEN_A);
  });
});

describe('loadClientDirectory', () => {
  test('Basic name+token and Bearer token; a wrong pair is refused', () => {
    const path = join(dir, 'auth1.yaml');
    writeFileSync(path, file(A + B));
    const clients = loadClientDirectory(path, {
      clock: createManualClock(),
      logger: createCapturingLogger().logger,
    });
    expect(clients.authenticate('team-a', TOKEN_A)?.name).toBe('team-a');
    expect(clients.authenticate(undefined, TOKEN_B)?.name).toBe('team-b');
    expect(clients.authenticate('team-a', TOKEN_B)).toBeUndefined();
    expect(clients.authenticate('team-c', TOKEN_A)).toBeUndefined();
    expect(clients.authenticate(undefined, 'nope')).toBeUndefined();
  });
  test('re-read when it changes (at most once a second); a broken version keeps the last good one', () => {
    const path = join(dir, 'auth2.yaml');
    writeFileSync(path, file(A));
    const clock = createManualClock();
    const { logger, lines } = createCapturingLogger();
    const clients = loadClientDirectory(path, { clock, logger });
    expect(clients.authenticate(undefined, TOKEN_B)).toBeUndefined();
    writeFileSync(path, file(A + B));
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    expect(clients.authenticate(undefined, TOKEN_B)).toBeUndefined(); // not checked yet
    clock.advance(1000);
    expect(clients.authenticate(undefined, TOKEN_B)?.name).toBe('team-b');
    writeFileSync(path, 'clients: [oops');
    utimesSync(path, new Date(), new Date(Date.now() + 10_000));
    clock.advance(1000);
    expect(clients.authenticate(undefined, TOKEN_B)?.name).toBe('team-b');
    expect(lines.join('')).toContain('auth file unusable; keeping the last good version');
    expect(lines.join('')).not.toContain(TOKEN_A);
    expect(lines.join('')).not.toContain(TOKEN_B);
  });
});

describe('hashed tokens and a file that breaks', () => {
  const sha = (t: string) => new Bun.CryptoHasher('sha256').update(t).digest('hex');

  test('token_sha256 authenticates the token it hashes; the file holds no usable credential', () => {
    const path = join(dir, 'hashed.yaml');
    writeFileSync(
      path,
      file(`  - name: team-a\n    token_sha256: "${sha(TOKEN_A)}"\n    namespaces: [team-a]\n`),
    );
    const { logger } = createCapturingLogger();
    const clients = loadClientDirectory(path, { clock: createManualClock(0), logger });
    expect(clients.authenticate('team-a', TOKEN_A)?.name).toBe('team-a');
    expect(clients.authenticate('team-a', sha(TOKEN_A))).toBeUndefined();
  });

  test('exactly one of token and token_sha256', () => {
    for (const body of [
      `  - name: x\n    namespaces: [a]\n`,
      `  - name: x\n    token: "${TOKEN_A}"\n    token_sha256: "${sha(TOKEN_A)}"\n    namespaces: [a]\n`,
    ]) {
      expect(() => parseAuthFile(file(body))).toThrow(/exactly one of token and token_sha256/);
    }
    expect(() =>
      parseAuthFile(file(`  - name: x\n    token_sha256: "ABC"\n    namespaces: [a]\n`)),
    ).toThrow(/clients.0.token_sha256: the hex SHA-256 of the token/);
  });

  test('a broken or deleted file keeps the last good version for its grace, then refuses every call', () => {
    const path = join(dir, 'breaks.yaml');
    writeFileSync(path, file(A));
    const clock = createManualClock(1_000_000);
    const { logger, records } = createCapturingLogger();
    const clients = loadClientDirectory(path, { clock, logger });
    rmSync(path);
    clock.advance(1500);
    expect(clients.authenticate('team-a', TOKEN_A)?.name).toBe('team-a');
    expect(clients.problem()).toBeUndefined();
    clock.advance(AUTH_FILE_GRACE_MS);
    expect(clients.authenticate('team-a', TOKEN_A)).toBeUndefined();
    expect(clients.problem()).toMatch(/unusable for over 60s/);
    expect(
      records.filter((r) => /auth file unusable/.test(String(r.msg))).map((r) => r.msg),
    ).toEqual([
      'auth file unusable; keeping the last good version for its grace',
      'auth file unusable past its grace: refusing every call',
    ]);
    // Fixed: usable again at the next check.
    writeFileSync(path, file(A));
    clock.advance(1500);
    expect(clients.authenticate('team-a', TOKEN_A)?.name).toBe('team-a');
    expect(clients.problem()).toBeUndefined();
  });
});
