// Rewrites the settings table in README.md from src/config/settings.ts (between the settings markers).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderSettingsMarkdown } from '../src/config/help.ts';

const path = join(import.meta.dir, '..', 'README.md');
const readme = readFileSync(path, 'utf8');
const updated = readme.replace(
  /<!-- settings:start -->[\s\S]*?<!-- settings:end -->/,
  `<!-- settings:start -->\n${renderSettingsMarkdown()}\n<!-- settings:end -->`,
);
writeFileSync(path, updated);
