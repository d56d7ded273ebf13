import { type Dirent, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** A file of the project: its path relative to the project (with `/`), and relative to its resource folder. */
export interface ProjectFile {
  readonly file: string;
  readonly pathInFolder: string;
  readonly absolutePath: string;
}

// Synchronous reads: a project's files are small and many, and each asynchronous read costs several
// thread-pool round trips (reading 1,000 model files: ~80 ms asynchronously, ~10 ms synchronously).
function walk(dir: string, out: string[]): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
}

/** Files under the project's `folders` whose names end with one of `extensions`, in a stable order. */
export async function listProjectFiles(
  projectDir: string,
  folders: readonly string[],
  extensions: readonly string[],
): Promise<ProjectFile[]> {
  const out: ProjectFile[] = [];
  const base = join(projectDir);
  for (const folder of folders) {
    const root = join(projectDir, folder);
    const found: string[] = [];
    walk(root, found);
    for (const abs of found.sort()) {
      if (!extensions.some((ext) => abs.endsWith(ext))) continue;
      out.push({
        file: inside(base, abs) ?? relative(projectDir, abs).split(sep).join('/'),
        pathInFolder: inside(root, abs) ?? relative(root, abs).split(sep).join('/'),
        absolutePath: abs,
      });
    }
  }
  return out;
}

/**
 * `path` relative to `dir` (with `/`) when it lies under it as written, else undefined; cheaper
 * than path.relative, which resolves both against the working folder (for each of 1,000 files).
 */
function inside(dir: string, path: string): string | undefined {
  if (dir === '.' || !path.startsWith(dir + sep)) return undefined;
  const rest = path.slice(dir.length + 1);
  return sep === '/' ? rest : rest.split(sep).join('/');
}

/** Reads a project file as text. */
export async function readText(file: ProjectFile): Promise<string> {
  return readFileSync(file.absolutePath, 'utf8');
}
