// A cgroup v2 directory a test may make run cgroups in (root, or a delegated tree), or undefined
// where none can be made here (the test then says SKIP). The caller removes it (rmdir).

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cgroup2Mount } from '../../src/os/cgroup.ts';

export function testCgroupDir(tag: string): string | undefined {
  const mount = cgroup2Mount()?.mount;
  if (!mount) return undefined;
  const path = join(mount, `k6gate-test-${tag}-${process.pid}`);
  try {
    mkdirSync(path);
    return path;
  } catch {
    return undefined;
  }
}
