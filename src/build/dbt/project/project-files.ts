import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/** A file of the project: its path relative to the project (with `/`), and relative to its resource folder. */
export interface ProjectFile {
  readonly file: string;
  readonly pathInFolder: string;
  readonly absolutePath: string;
}

async function walk(dir: string, out: string[]): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
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
  for (const folder of folders) {
    const root = join(projectDir, folder);
    const found: string[] = [];
    await walk(root, found);
    for (const abs of found.sort()) {
      if (!extensions.some((ext) => abs.endsWith(ext))) continue;
      out.push({
        file: relative(projectDir, abs).split(sep).join('/'),
        pathInFolder: relative(root, abs).split(sep).join('/'),
        absolutePath: abs,
      });
    }
  }
  return out;
}

/** Reads a project file as text. */
export function readText(file: ProjectFile): Promise<string> {
  return readFile(file.absolutePath, 'utf8');
}
