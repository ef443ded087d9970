/** Finding the tools the second-opinion checks use; none of them is needed by `npm test`. */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

/** The absolute path of an executable on PATH, or undefined. */
export function which(tool: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, tool);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** The Python that has `module` importable (moto, botocore): $PYTHON, else python3 on PATH; undefined when none. */
export function pythonWith(module: string): string | undefined {
  const python = process.env.PYTHON || which('python3');
  if (!python) return undefined;
  const r = spawnSync(python, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 60_000 });
  return r.status === 0 ? python : undefined;
}

/** The directory of an importable Python package (botocore's data files live under it). */
export function pythonPackageDir(python: string, module: string): string {
  const r = spawnSync(python, ['-c', `import ${module}, os; print(os.path.dirname(${module}.__file__))`], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`${python} cannot import ${module}: ${r.stderr}`);
  return r.stdout.trim();
}
