// bundleFromConfigMap: every key (data and binaryData) becomes a file, the entry must be there
// and not empty, keys are plain file names, the key count and total size are capped, and the
// digest changes with any content (a changed ConfigMap is a different run).

import { expect, test } from 'bun:test';
import { BadRequest } from '../../src/core/errors.ts';
import { bundleFromConfigMap } from '../../src/k6/script-bundle.ts';

const ref = { name: 'tests', key: 'test.js' };
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BadRequest);
    expect((err as BadRequest).field).toBe('metadata.script_configmap');
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
};

test('data and binaryData keys are files beside the entry', () => {
  const b = bundleFromConfigMap(
    {
      data: { 'test.js': 'export default function () {}', 'lib.js': 'export const x = 1;' },
      binaryData: { 'blob.bin': Buffer.from([0, 1, 2, 255]).toString('base64') },
    },
    ref,
  );
  expect(b.entry).toBe('test.js');
  expect(Object.keys(b.files).sort()).toEqual(['blob.bin', 'lib.js', 'test.js']);
  expect([...b.files['blob.bin']!]).toEqual([0, 1, 2, 255]);
});

test('the digest follows the content', () => {
  const a = bundleFromConfigMap({ data: { 'test.js': 'a', 'lib.js': 'x' } }, ref);
  const same = bundleFromConfigMap({ data: { 'lib.js': 'x', 'test.js': 'a' } }, ref);
  const other = bundleFromConfigMap({ data: { 'test.js': 'a', 'lib.js': 'y' } }, ref);
  expect(a.digest).toBe(same.digest);
  expect(a.digest).not.toBe(other.digest);
});

test('refusals name the field and never echo values', () => {
  expect(refusal(() => bundleFromConfigMap({ data: { 'main.js': 'SECRET' } }, ref))).toBe(
    'ConfigMap "tests" has no key "test.js" (its keys: main.js)',
  );
  expect(refusal(() => bundleFromConfigMap({ data: { 'test.js': '' } }, ref))).toBe(
    'the entry "test.js" of ConfigMap "tests" is empty',
  );
  for (const key of ['../x', 'a/b', '..', '.']) {
    expect(
      refusal(() => bundleFromConfigMap({ data: { 'test.js': 'x', [key]: 'SECRET' } }, ref)),
    ).toBe('ConfigMap "tests" has a key that is not a plain file name');
  }
  const many = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`f${i}.js`, 'x']));
  expect(refusal(() => bundleFromConfigMap({ data: { ...many, 'test.js': 'x' } }, ref))).toBe(
    'ConfigMap "tests" has 258 keys; at most 256 are allowed',
  );
  const big = 'x'.repeat(4 * 1024 * 1024);
  expect(
    refusal(() => bundleFromConfigMap({ data: { 'test.js': big, 'more.js': 'y' } }, ref)),
  ).toBe('ConfigMap "tests" holds 4194305 bytes; at most 4194304 are allowed');
});

test('keys named __proto__ and constructor are files, never the object prototype', () => {
  const data = JSON.parse(
    '{"test.js": "export default function () {}", "__proto__": "p", "constructor": "c"}',
  ) as Record<string, string>;
  const b = bundleFromConfigMap({ data }, ref);
  expect(Object.keys(b.files).sort()).toEqual(['__proto__', 'constructor', 'test.js']);
  expect(new TextDecoder().decode(b.files.__proto__)).toBe('p');
  const onlyEntry = { data: { 'test.js': 'export default function () {}' } };
  for (const key of ['constructor', '__proto__', 'toString']) {
    expect(() => bundleFromConfigMap(onlyEntry, { name: 'tests', key })).toThrow(
      `has no key "${key}"`,
    );
  }
});
