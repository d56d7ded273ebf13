import { createServer, type Server } from 'node:http';
import type { PipelineProject } from '../config/project.ts';
import { logger } from '../core/logger.ts';
import { createPrometheusMetrics, type PrometheusMetrics } from './prometheus-metrics.ts';

/** Port of the metrics listener of `medallion run` unless told otherwise (Prometheus exporters' 9464). */
export const DEFAULT_METRICS_PORT = 9464;

/** A running metrics listener. */
export interface MetricsServer {
  /** Where the metrics answer, with the port actually bound (`http://127.0.0.1:9464/metrics`). */
  readonly url: string;
  close(): Promise<void>;
}

const log = logger.child({ component: 'metrics' });

/**
 * Starts a metrics-only HTTP listener on 127.0.0.1:`port` (0 picks a free port): `GET /metrics`
 * answers the Prometheus text format, anything else 404. Rejects when the port cannot be bound.
 */
export async function startMetricsServer(options: {
  project: PipelineProject;
  port: number;
  brokers?: string;
}): Promise<MetricsServer> {
  const metrics: PrometheusMetrics = createPrometheusMetrics({ project: options.project, brokers: options.brokers });
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: try GET /metrics\n');
      return;
    }
    metrics.render().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(text),
      (err: Error) => {
        log.error({ event: 'metrics.scrape.failed', err: err.message }, 'metrics: scrape failed');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics unavailable\n');
      },
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    metrics.close();
    throw err;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://127.0.0.1:${port}/metrics`;
  log.info({ event: 'metrics.listening', url }, `metrics at ${url}`);
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        metrics.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
