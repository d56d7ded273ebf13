/**
 * `npm run bench -- <name> [options]`: runs bench/<name>.bench.ts, which measures Medallion and a
 * reference in the same run. Progress goes to stderr; the last line on stdout is one JSON object:
 * {"bench","unit","medallion","reference","ratio","better","runs"} (medians over the runs).
 */
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './bench-kit.ts';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (!name || name === '--help' || !available.includes(name)) {
  process.stderr.write(`Usage: npm run bench -- <${available.join('|') || 'name'}> [options]\n`);
  process.exit(name && name !== '--help' ? 2 : 0);
}
const mod = (await import(`./${name}.bench.ts`)) as { run(args: string[]): Promise<BenchResult> };
const result = await mod.run(args);
process.stdout.write(`${JSON.stringify(result)}\n`);
