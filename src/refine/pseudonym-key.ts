import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PipelineProject } from '../config/project.ts';
import { writeTextAtomic } from '../core/fs-atomic.ts';
import { logger } from '../core/logger.ts';

/**
 * The key of the HMAC that pseudonymizes student ids. Taken from the environment variable named in
 * the config (production), else from a secret file in the data directory, generated on first use
 * (the demo). The key is never written to the repository, to logs or to any layer.
 */
export async function pseudonymKey(project: PipelineProject): Promise<Buffer> {
  const fromEnv = process.env[project.config.privacy.pseudonymKeyEnv];
  if (fromEnv && fromEnv.length > 0) return Buffer.from(fromEnv, 'utf8');
  const file = join(project.paths.secrets, 'pseudonym.key');
  try {
    return Buffer.from((await readFile(file, 'utf8')).trim(), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(project.paths.secrets, { recursive: true, mode: 0o700 });
  await writeTextAtomic(file, `${randomBytes(32).toString('hex')}\n`);
  await chmod(file, 0o600);
  logger.warn(
    { event: 'refine.key.generated', file, env: project.config.privacy.pseudonymKeyEnv },
    `generated a local pseudonymization key; set ${project.config.privacy.pseudonymKeyEnv} to use your own in production`,
  );
  return Buffer.from((await readFile(file, 'utf8')).trim(), 'utf8');
}

/**
 * SQL computing HMAC-SHA256(key, <valueSql>) as lowercase hex (RFC 2104: H((K⊕opad) ‖ H((K⊕ipad) ‖ m)),
 * with K zero-padded to SHA-256's 64-byte block, or hashed first when longer), set-based in DuckDB.
 */
export function hmacSql(key: Buffer, valueSql: string): string {
  let k = key.length > 64 ? createHash('sha256').update(key).digest() : key;
  const block = Buffer.alloc(64);
  k.copy(block);
  k = block;
  const ipad = Buffer.from(k.map((b) => b ^ 0x36)).toString('hex');
  const opad = Buffer.from(k.map((b) => b ^ 0x5c)).toString('hex');
  return `sha256(unhex('${opad}') || unhex(sha256(unhex('${ipad}') || encode(${valueSql}))))`;
}
