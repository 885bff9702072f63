// Run signatures (runners/pods/signature.ts): an HMAC-SHA256 under the daemons' key, checked
// against a published test vector, and refused when anything it covers changes.

import { describe, expect, test } from 'bun:test';
import { createRunSigner } from '../../src/runners/pods/signature.ts';

describe('run signatures', () => {
  test('are HMAC-SHA256 (RFC 4231, test case 2)', () => {
    const signer = createRunSigner(new TextEncoder().encode('Jefe'));
    expect(signer.sign(['what do ya want for nothing?'])).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  test('verify only what the same key signed, unchanged', () => {
    const key = crypto.getRandomValues(new Uint8Array(32));
    const signer = createRunSigner(key);
    const sig = signer.sign(['team-a', 'k6gate-web-1', 'run-1']);
    expect(createRunSigner(key).verify(['team-a', 'k6gate-web-1', 'run-1'], sig)).toBe(true);
    expect(signer.verify(['team-a', 'k6gate-web-1', 'run-2'], sig)).toBe(false);
    expect(signer.verify(['team-a', 'k6gate-web-1', 'run-1'], sig.replace(/^./, 'x'))).toBe(false);
    expect(signer.verify(['team-a', 'k6gate-web-1', 'run-1'], undefined)).toBe(false);
    expect(createRunSigner().verify(['team-a', 'k6gate-web-1', 'run-1'], sig)).toBe(false);
  });
});
