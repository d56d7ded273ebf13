import { timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import { isIP } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { secureHeaders } from 'hono/secure-headers';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { PipelineProject } from '../config/project.ts';
import { asMedallionError, type ErrorCode, MedallionError } from '../core/errors.ts';
import { logger, progress } from '../core/logger.ts';
import { createPrometheusMetrics, type PrometheusMetrics } from '../metrics/prometheus-metrics.ts';
import { resolveBrokers } from '../sources/event-source.ts';
import { COMPARE_TABLES, readCompare } from './compare-metrics.ts';
import { EQUITY_TABLES, readEquity } from './equity-metrics.ts';
import { equityQuery, type Filters, filterQuery, type SchoolMetric, schoolQuery, schoolsQuery } from './filters.ts';
import { GoldReader } from './gold-reader.ts';
import { GoldWatcher, readLiveFacts } from './live-updates.ts';
import { NOW_TABLES, readDates, readNow } from './now-metrics.ts';
import { PipelineFacts, readGoldRowCounts } from './pipeline-metrics.ts';
import { readSchool, readSchools, SCHOOL_TABLES, SCHOOLS_TABLES } from './school-metrics.ts';
import { loadStaticAssets, PAGE_PATHS, type StaticAsset } from './static-assets.ts';
import { readTrends, TREND_TABLES } from './trend-metrics.ts';

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  readonly project: PipelineProject;
  /** Address to bind (default: the project's `serve.host`, 127.0.0.1). */
  readonly host?: string;
  /** Port to bind (default: the project's `serve.port`); 0 picks a free one. */
  readonly port?: number;
  /** Warehouse file to read gold from (default: the project's warehouse). */
  readonly warehousePath?: string;
  /**
   * Access token (default: $MEDALLION_SERVE_TOKEN): when set, every request needs it, as
   * `Authorization: Bearer <token>` or the cookie set by visiting a page with `?token=<token>` once.
   */
  readonly token?: string;
  /** How often the server looks for a new gold build to push to open pages, in ms (default 500). */
  readonly watchIntervalMs?: number;
  /** Answers kept per warehouse version (default 64); 0 reads gold for every request (benchmarks). */
  readonly cacheSize?: number;
}

/** A running dashboard. */
export interface Dashboard {
  /** Where it answers, with the port actually bound (e.g. `http://127.0.0.1:8787/`). */
  readonly url: string;
  /** Stops accepting requests, ends open connections and waits for reads in progress. */
  close(): Promise<void>;
}

const log = logger.child({ component: 'serve' });

/**
 * Content-Security-Policy of every response: scripts, styles and images from the dashboard itself
 * only, no inline script or style, no plugins, no framing, data fetched from the same origin only.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const STATUS_OF: Partial<Record<ErrorCode, 400 | 404 | 503>> = {
  MDL_USAGE: 400,
  MDL_NOTHING_TO_SERVE: 503,
  MDL_WAREHOUSE_LOCKED: 503,
};

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || host.startsWith('127.');
}

/** Parses the query string against `schema`; unknown, repeated or malformed parameters are a 400. */
function parseQuery<T>(c: Context, schema: z.ZodType<T>): T {
  const params = new URL(c.req.url).searchParams;
  const raw: Record<string, string> = {};
  for (const [key, value] of params) {
    if (Object.hasOwn(raw, key)) {
      throw new MedallionError('MDL_USAGE', `Query parameter "${key}" is given more than once.`, {
        hint: 'Pass each parameter once.',
      });
    }
    raw[key] = value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const what =
      issue.code === 'unrecognized_keys'
        ? `unknown query parameter ${issue.keys.map((k) => `"${k}"`).join(', ')}`
        : `query parameter "${issue.path.join('.')}": ${issue.message}`;
    throw new MedallionError('MDL_USAGE', `Invalid request: ${what}.`, {
      hint: 'See src/serve/README.md for the parameters each endpoint accepts.',
    });
  }
  return parsed.data;
}

function errorBody(err: MedallionError): { error: { code: string; message: string; hint?: string } } {
  return { error: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) } };
}

const nowQuery = z.strictObject({
  date: z.iso.date({ error: 'must be a date written YYYY-MM-DD' }).optional(),
});
const noQuery = z.strictObject({});

/** Name of the cookie that carries the access token after a visit to `/?token=…`. */
export const TOKEN_COOKIE = 'medallion_token';

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function bearerOf(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m?.[1];
}

/** Builds the dashboard's HTTP application: routes, headers and errors, over a gold reader. */
function createApp(options: {
  reader: GoldReader;
  assets: ReadonlyMap<string, StaticAsset>;
  minGroupSize: number;
  checkHost: boolean;
  token: string | undefined;
  project: PipelineProject;
  watcher: GoldWatcher;
  metrics: PrometheusMetrics;
}): Hono {
  const { reader, assets, minGroupSize, token, project, watcher, metrics } = options;
  const pipelineFacts = new PipelineFacts(project);
  const app = new Hono();

  // Each view's read, keyed by its parameters as parsed, shared by the routes and the warm-up.
  const views = {
    now: (date?: string) =>
      reader.read(`now:${date ?? 'latest'}`, NOW_TABLES, (wh) => readNow(wh, { date, minGroupSize })),
    dates: () => reader.read('dates', ['fact_event_metrics'], (wh) => readDates(wh)),
    equity: (filters: Filters, metric: SchoolMetric) =>
      reader.read(`equity:${JSON.stringify(filters)}:${metric}`, EQUITY_TABLES, (wh) =>
        readEquity(wh, { filters, metric, minGroupSize }),
      ),
    schools: (filters: Filters, q?: string) =>
      reader.read(`schools:${JSON.stringify(filters)}:${q ?? ''}`, SCHOOLS_TABLES, (wh) =>
        readSchools(wh, { filters, q, minGroupSize }),
      ),
    compare: (filters: Filters) =>
      reader.read(`compare:${JSON.stringify(filters)}`, COMPARE_TABLES, (wh) =>
        readCompare(wh, { filters, minGroupSize }),
      ),
    trends: (filters: Filters) =>
      reader.read(`trends:${JSON.stringify(filters)}`, TREND_TABLES, (wh) => readTrends(wh, { filters, minGroupSize })),
  };

  // When a new build lands, read the unfiltered views at once (the Now page first), so that the
  // pages told about it over /api/events find their answers ready.
  watcher.subscribe(() => {
    const warm = [
      views.now,
      views.dates,
      () => views.equity({}, 'attendance'),
      () => views.trends({}),
      () => views.compare({}),
      () => views.schools({}),
    ];
    for (const read of warm) read().catch(() => {});
  });

  app.use(
    secureHeaders({
      crossOriginResourcePolicy: 'same-origin',
      crossOriginOpenerPolicy: 'same-origin',
      referrerPolicy: 'no-referrer',
      xFrameOptions: 'DENY',
      strictTransportSecurity: false,
    }),
  );
  app.use(async (c, next) => {
    await next();
    c.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  });

  if (options.checkHost) {
    // Bound to loopback: refuse other Host names, so that a web page elsewhere cannot reach the
    // dashboard through DNS rebinding.
    app.use(async (c, next) => {
      const hostHeader = c.req.header('host') ?? '';
      let hostname = '';
      try {
        hostname = new URL(`http://${hostHeader}`).hostname;
      } catch {}
      if (!isLoopback(hostname)) {
        return c.json(
          errorBody(
            new MedallionError('MDL_USAGE', 'Unexpected Host header.', { hint: 'Open the dashboard at its own URL.' }),
          ),
          421,
        );
      }
      await next();
    });
  }

  if (token) {
    app.use(async (c, next) => {
      const url = new URL(c.req.url);
      const offered = url.searchParams.get('token');
      if (offered !== null && !url.pathname.startsWith('/api/') && c.req.method === 'GET') {
        if (!sameSecret(offered, token)) return c.text('Unauthorized: wrong token.', 401);
        setCookie(c, TOKEN_COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: '/' });
        url.searchParams.delete('token');
        const rest = url.searchParams.toString();
        return c.redirect(`${url.pathname}${rest ? `?${rest}` : ''}`, 303);
      }
      const given = bearerOf(c.req.header('authorization')) ?? getCookie(c, TOKEN_COOKIE);
      if (given === undefined || !sameSecret(given, token)) {
        c.header('WWW-Authenticate', 'Bearer realm="medallion"');
        const err = new MedallionError('MDL_USAGE', 'This dashboard needs its access token.', {
          hint: 'Open it once as /?token=<token>, or send "Authorization: Bearer <token>".',
        });
        return url.pathname.startsWith('/api/')
          ? c.json(errorBody(err), 401)
          : c.text(`${err.message} ${err.hint}`, 401);
      }
      await next();
    });
  }

  app.use('/api/*', async (c, next) => {
    await next();
    c.header('Cache-Control', 'no-store');
  });

  app.get('/api/now', async (c) => {
    const { date } = parseQuery(c, nowQuery);
    const read = await views.now(date);
    if (!read.value) {
      const err = new MedallionError('MDL_NOTHING_TO_SERVE', `Gold has no attendance events on ${date}.`, {
        hint: 'Pick a school day listed by /api/dates.',
      });
      return c.json(errorBody(err), 404);
    }
    return c.json({
      ...read.value,
      pipeline: await readLiveFacts(project),
      updatedAt: read.updatedAt,
      stale: read.stale,
    });
  });

  app.get('/api/equity', async (c) => {
    const { metric, ...filters } = parseQuery(c, equityQuery);
    const m = metric ?? 'attendance';
    const read = await views.equity(filters, m);
    return c.json({ ...read.value, updatedAt: read.updatedAt, stale: read.stale });
  });

  app.get('/api/schools', async (c) => {
    const { q, ...filters } = parseQuery(c, schoolsQuery);
    const read = await views.schools(filters, q);
    return c.json({ ...read.value, updatedAt: read.updatedAt, stale: read.stale });
  });

  app.get('/api/school', async (c) => {
    const query = parseQuery(c, schoolQuery);
    const read = await reader.read(`school:${JSON.stringify(query)}`, SCHOOL_TABLES, (wh) =>
      readSchool(wh, { ...query, minGroupSize }),
    );
    if (!read.value) {
      const err = new MedallionError('MDL_NOTHING_TO_SERVE', `Gold has no school ${query.dbn}.`, {
        hint: 'Pick a school from the Schools page.',
      });
      return c.json(errorBody(err), 404);
    }
    return c.json({ ...read.value, updatedAt: read.updatedAt, stale: read.stale });
  });

  app.get('/api/compare', async (c) => {
    const filters = parseQuery(c, filterQuery);
    const read = await views.compare(filters);
    return c.json({ ...read.value, updatedAt: read.updatedAt, stale: read.stale });
  });

  app.get('/api/trends', async (c) => {
    const filters = parseQuery(c, filterQuery);
    const read = await views.trends(filters);
    return c.json({ ...read.value, updatedAt: read.updatedAt, stale: read.stale });
  });

  app.get('/api/pipeline', async (c) => {
    parseQuery(c, noQuery);
    const facts = await pipelineFacts.read();
    let gold: { table: string; rows: number }[] = [];
    let updatedAt: string | null = null;
    let stale = false;
    try {
      const read = await reader.read('pipeline:gold', [], (wh) => readGoldRowCounts(wh));
      gold = read.value;
      updatedAt = read.updatedAt;
      stale = read.stale;
    } catch (err) {
      if (!(err instanceof MedallionError) || err.code !== 'MDL_NOTHING_TO_SERVE') throw err;
    }
    return c.json({ ...facts, gold, updatedAt, stale });
  });

  app.get('/api/events', (c) => {
    parseQuery(c, noQuery);
    c.header('Cache-Control', 'no-store');
    return streamSSE(c, async (stream) => {
      let wake: () => void = () => {};
      let pending = false;
      const stop = watcher.subscribe(() => {
        pending = true;
        wake();
      });
      stream.onAbort(() => {
        stop();
        wake();
      });
      await stream.writeSSE({ event: 'hello', data: JSON.stringify({ version: watcher.version }), retry: 2000 });
      while (!stream.aborted && !stream.closed) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 15_000).unref();
        });
        if (stream.aborted || stream.closed) break;
        if (pending) {
          pending = false;
          await stream.writeSSE({ event: 'gold', data: JSON.stringify({ version: watcher.version }) });
        } else await stream.write(': keep-alive\n\n');
      }
      stop();
    });
  });

  app.get('/api/dates', async (c) => {
    parseQuery(c, noQuery);
    const read = await views.dates();
    return c.json({ dates: read.value, updatedAt: read.updatedAt, stale: read.stale });
  });

  app.get('/api/health', async (c) => {
    parseQuery(c, noQuery);
    let gold: 'ready' | 'missing' | 'busy' = 'ready';
    try {
      await reader.read('health', NOW_TABLES, async () => true);
    } catch (err) {
      const code = err instanceof MedallionError ? err.code : undefined;
      if (code === 'MDL_NOTHING_TO_SERVE') gold = 'missing';
      else if (code === 'MDL_WAREHOUSE_LOCKED') gold = 'busy';
      else throw err;
    }
    return c.json({ status: 'ok', gold });
  });

  // Prometheus scrapes: the same values as `status --json` (behind the token, when there is one).
  app.get('/metrics', async (c) => {
    const text = await metrics.render();
    c.header('Content-Type', metrics.contentType);
    c.header('Cache-Control', 'no-store');
    return c.body(text);
  });

  app.all('/api/*', (c) => {
    const err = new MedallionError('MDL_USAGE', `No API endpoint ${c.req.method} ${new URL(c.req.url).pathname}.`, {
      hint: 'See src/serve/README.md for the endpoints.',
    });
    return c.json(errorBody(err), 404);
  });

  app.get('*', (c) => {
    const path = new URL(c.req.url).pathname;
    const asset = assets.get(PAGE_PATHS.has(path) ? 'page.html' : path);
    if (!asset) return c.text('Not found', 404);
    c.header('ETag', asset.etag);
    c.header('Cache-Control', 'no-cache');
    if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304);
    c.header('Content-Type', asset.contentType);
    return c.body(asset.body as Uint8Array<ArrayBuffer>);
  });

  app.notFound((c) => c.text('Not found', 404));

  app.onError((error, c) => {
    const err = asMedallionError(error);
    const status = STATUS_OF[err.code] ?? 500;
    if (status === 500) {
      log.error(
        { event: 'serve.request.failed', err: error, path: new URL(c.req.url).pathname },
        'dashboard request failed',
      );
      const internal = new MedallionError('MDL_INTERNAL', 'The dashboard failed to answer.', {
        hint: 'See the server log (stderr); rerun with MEDALLION_LOG_LEVEL=debug for detail.',
      });
      return c.json(errorBody(internal), 500);
    }
    log.info({ event: 'serve.request.rejected', code: err.code, path: new URL(c.req.url).pathname }, err.message);
    if (status === 503) c.header('Retry-After', err.code === 'MDL_WAREHOUSE_LOCKED' ? '2' : '10');
    c.header('Cache-Control', 'no-store');
    return c.json(errorBody(err), status);
  });

  return app;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return isIP(host) === 6 ? `[${host}]` : host;
}

/**
 * Starts the web dashboard on `host:port`, serving its pages (Now, Equity, Schools, Streaming vs
 * batch, Trends, Pipeline), their JSON API and a stream of gold-build events, from the gold
 * schema of the warehouse, opened read-only. Resolves once it listens; fails with
 * MDL_SERVE_PORT_IN_USE when the port is taken. Gold need not exist yet: the API answers 503 until it does.
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const { project } = options;
  const host = options.host ?? project.config.serve.host;
  const port = options.port ?? project.config.serve.port;
  const warehousePath = options.warehousePath ?? project.paths.warehouse;
  const reader = new GoldReader(warehousePath, { cacheSize: options.cacheSize });
  const token = options.token ?? (process.env.MEDALLION_SERVE_TOKEN || undefined);
  const watcher = new GoldWatcher(project, warehousePath, options.watchIntervalMs);
  const metrics = createPrometheusMetrics({ project, brokers: resolveBrokers() });
  if (!isLoopback(host) && !token) {
    const warning = `WARNING: the dashboard is bound to ${host}, beyond this machine, WITHOUT an access token: anyone who can reach this address can read it. Pass --token (or set MEDALLION_SERVE_TOKEN).`;
    log.warn({ event: 'serve.exposed', host }, warning);
    progress(`\n${'!'.repeat(78)}\n${warning}\n${'!'.repeat(78)}\n`);
  }
  const app = createApp({
    reader,
    assets: await loadStaticAssets(),
    minGroupSize: project.config.privacy.minGroupSize,
    checkHost: isLoopback(host),
    token,
    project,
    watcher,
    metrics,
  });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') {
        reject(
          new MedallionError('MDL_SERVE_PORT_IN_USE', `Port ${port} on ${host} is already in use.`, {
            hint: 'Stop the process using it, or pass --port with another port (0 picks a free one).',
            cause: err,
          }),
        );
      } else reject(asMedallionError(err));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${urlHost(host)}:${boundPort}/`;
  log.info({ event: 'serve.listening', url }, 'dashboard listening');
  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= new Promise<void>((resolve) => {
        watcher.close();
        metrics.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => reader.close());
      return closing;
    },
  };
}
