// Which run objects k6gate trusts: only those it made. Each Job or TestRun it creates carries an
// HMAC-SHA256 of its namespace, name and run id (annotation k6gate.io/signature), and a recorded
// verdict an HMAC of the same and the verdict (k6gate.io/verdict-signature), under a key only the
// daemons hold (--run-signing-key-file; the chart keeps one in a Secret, so every replica and
// every restart shares it). A namespace insider who pre-creates an object under the predictable
// name, or edits a verdict, has no key: k6gate refuses to attach to it instead of answering
// from it. Bun's own hasher and the global crypto, not node:crypto (which costs ~5 ms at start
// for its stream classes).

export interface RunSigner {
  sign(parts: readonly string[]): string;
  /** True when `signature` is this key's signature of `parts`. */
  verify(parts: readonly string[], signature: string | undefined): boolean;
}

/** @example const signer = createRunSigner(key); obj.annotations[SIG] = signer.sign([ns, name, id]); */
export function createRunSigner(
  key: Uint8Array = crypto.getRandomValues(new Uint8Array(32)),
): RunSigner {
  const sign = (parts: readonly string[]) =>
    new Bun.CryptoHasher('sha256', key).update(parts.join('\n')).digest('hex');
  return {
    sign,
    verify(parts, signature) {
      if (signature === undefined || !/^[0-9a-f]{64}$/.test(signature)) return false;
      return crypto.timingSafeEqual(Buffer.from(sign(parts), 'hex'), Buffer.from(signature, 'hex'));
    },
  };
}
