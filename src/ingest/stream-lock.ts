import { createHash } from 'node:crypto';
import { open, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { MedallionError } from '../core/errors.ts';
import { sleep } from '../core/sleep.ts';

/** A held lock; `release` is safe to call twice. */
export interface HeldLock {
  release(): Promise<void>;
}

const RETRY_MS = 5;
const MAX_RETRY_MS = 100;

function listen(server: Server, path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') resolve(false);
      else reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(true);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(path);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A mutual exclusion between processes of one host, named by a string (a bronze stream of one
 * data directory). On Linux it is an abstract Unix socket: binding the name succeeds for one
 * process at a time and the kernel releases it when the holder exits or is killed, so a SIGKILL
 * never leaves a stale lock. Elsewhere it falls back to a lock file created exclusively, holding
 * the owner's pid, and taken over when that process no longer exists.
 */
export async function acquireStreamLock(
  name: string,
  fallbackDir: string,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<HeldLock> {
  const id = createHash('sha256').update(name).digest('hex').slice(0, 40);
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let wait = RETRY_MS;
  for (;;) {
    const held = process.platform === 'linux' ? await tryAbstract(id) : await tryFile(`${fallbackDir}/${id}.lock`);
    if (held) return held;
    if (Date.now() >= deadline)
      throw new MedallionError('MDL_STORAGE_IO', `Timed out waiting for the bronze writer lock of ${name}.`, {
        hint: 'Another ingester of this data directory holds it: check for a stuck `medallion ingest` process.',
        retriable: true,
      });
    await sleep(wait, options.signal);
    wait = Math.min(MAX_RETRY_MS, wait * 2);
  }
}

async function tryAbstract(id: string): Promise<HeldLock | undefined> {
  const server = createServer();
  server.unref();
  if (!(await listen(server, `\0medallion-bronze-${id}`))) {
    server.close();
    return undefined;
  }
  let released = false;
  return {
    release: () =>
      new Promise<void>((resolve) => {
        if (released) return resolve();
        released = true;
        server.close(() => resolve());
      }),
  };
}

async function tryFile(path: string): Promise<HeldLock | undefined> {
  try {
    const fh = await open(path, 'wx');
    await fh.writeFile(String(process.pid));
    await fh.close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const pid = Number(await readFile(path, 'utf8').catch(() => ''));
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) await rm(path, { force: true });
    return undefined;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await rm(path, { force: true });
    },
  };
}
