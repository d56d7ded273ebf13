import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DataPaths } from '../config/project.ts';
import type { LineageConfig } from '../config/schema.ts';
import { MedallionError } from '../core/errors.ts';
import { logger } from '../core/logger.ts';
import type { RunEvent } from './run-event.ts';

/** Where lineage events go. `send` never throws: a lost event is logged, never fails a job. */
export interface LineageTransport {
  send(event: RunEvent): Promise<void>;
  /** Waits for events in flight. */
  close(): Promise<void>;
}

/** The file the `file` transport appends to, under the data directory. */
export function lineageFile(paths: DataPaths): string {
  return join(paths.root, 'lineage', 'events.jsonl');
}

const log = logger.child({ component: 'lineage' });

/** Appends each event as one JSON line (OpenLineage's file transport format). Writes are serialized. */
export class FileTransport implements LineageTransport {
  readonly path: string;
  #tail: Promise<void> = Promise.resolve();
  #dirMade = false;

  constructor(path: string) {
    this.path = path;
  }

  send(event: RunEvent): Promise<void> {
    const line = `${JSON.stringify(event)}\n`;
    this.#tail = this.#tail.then(async () => {
      try {
        if (!this.#dirMade) {
          await mkdir(dirname(this.path), { recursive: true });
          this.#dirMade = true;
        }
        await appendFile(this.path, line);
      } catch (err) {
        log.warn({ event: 'lineage.send_failed', err: (err as Error).message }, 'lineage event not written');
      }
    });
    return this.#tail;
  }

  close(): Promise<void> {
    return this.#tail;
  }
}

/**
 * POSTs each event to an OpenLineage HTTP endpoint: Marquez's `POST {url}/api/v1/lineage` with the
 * event as a JSON body (Marquez answers 201). Events go out in order, one at a time.
 */
export class HttpTransport implements LineageTransport {
  readonly endpoint: string;
  readonly #timeoutMs: number;
  readonly #token: string | undefined;
  #tail: Promise<void> = Promise.resolve();

  constructor(url: string, options: { timeoutMs: number; token?: string }) {
    this.endpoint = `${url.replace(/\/+$/, '')}/api/v1/lineage`;
    this.#timeoutMs = options.timeoutMs;
    this.#token = options.token;
  }

  send(event: RunEvent): Promise<void> {
    const body = JSON.stringify(event);
    this.#tail = this.#tail.then(async () => {
      try {
        const res = await fetch(this.endpoint, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}),
          },
          body,
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
        await res.arrayBuffer();
        if (!res.ok) {
          log.warn(
            { event: 'lineage.send_failed', status: res.status, endpoint: this.endpoint },
            'lineage POST refused',
          );
        }
      } catch (err) {
        log.warn(
          { event: 'lineage.send_failed', err: (err as Error).message, endpoint: this.endpoint },
          'lineage POST failed',
        );
      }
    });
    return this.#tail;
  }

  close(): Promise<void> {
    return this.#tail;
  }
}

/** The transport the config asks for. */
export function createTransport(config: LineageConfig, paths: DataPaths): LineageTransport {
  if (config.transport === 'http') {
    if (!config.url) {
      throw new MedallionError('MDL_CONFIG_INVALID', 'lineage.transport is http but lineage.url is not set.', {
        hint: 'Set lineage.url to the lineage API base URL (e.g. http://127.0.0.1:5000 for Marquez), or use transport: file.',
      });
    }
    const token = config.apiKeyEnv ? process.env[config.apiKeyEnv] : undefined;
    return new HttpTransport(config.url, { timeoutMs: config.timeoutMs, token });
  }
  return new FileTransport(lineageFile(paths));
}
