import { expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderSettingsMarkdown } from '../../src/config/help.ts';

test('the README settings table matches the code (bun scripts/readme-settings.ts rewrites it)', () => {
  const readme = readFileSync(join(import.meta.dir, '../../README.md'), 'utf8');
  const section = /<!-- settings:start -->\n([\s\S]*?)\n<!-- settings:end -->/.exec(readme);
  expect(section?.[1]).toBe(renderSettingsMarkdown());
});
