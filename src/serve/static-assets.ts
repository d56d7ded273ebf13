import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A file the dashboard serves, read once into memory. */
export interface StaticAsset {
  readonly body: Uint8Array;
  readonly contentType: string;
  /** Strong validator for conditional requests. */
  readonly etag: string;
}

const STATIC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'static');

/** Folder of Chart.js's distribution files, found the way Node resolves the installed package. */
function chartJsDir(): string {
  return dirname(fileURLToPath(import.meta.resolve('chart.js')));
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

/** Paths of the pages other than Now; each is served `page.html`, whose script draws the page the path names. */
export const PAGE_PATHS: ReadonlySet<string> = new Set([
  '/equity',
  '/schools',
  '/school',
  '/compare',
  '/trends',
  '/pipeline',
]);

/**
 * The closed list of files served, by URL path: the page, its script and style, and the charting
 * library straight from node_modules. Nothing outside this list is ever read from disk, so no
 * request path can reach other files.
 */
function assetFiles(): Record<string, string> {
  return {
    '/': join(STATIC_DIR, 'index.html'),
    'page.html': join(STATIC_DIR, 'page.html'),
    '/static/now.js': join(STATIC_DIR, 'now.js'),
    '/static/app.js': join(STATIC_DIR, 'app.js'),
    '/static/common.js': join(STATIC_DIR, 'common.js'),
    '/static/dashboard.css': join(STATIC_DIR, 'dashboard.css'),
    '/static/favicon.svg': join(STATIC_DIR, 'favicon.svg'),
    '/vendor/chart.umd.min.js': join(chartJsDir(), 'chart.umd.min.js'),
    '/vendor/chart.umd.min.js.map': join(chartJsDir(), 'chart.umd.min.js.map'),
  };
}

/** Reads every asset into memory, keyed by URL path. */
export async function loadStaticAssets(): Promise<ReadonlyMap<string, StaticAsset>> {
  const assets = new Map<string, StaticAsset>();
  for (const [urlPath, file] of Object.entries(assetFiles())) {
    const body: Uint8Array = await readFile(file);
    const ext = file.slice(file.lastIndexOf('.'));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    assets.set(urlPath, { body, contentType: TYPES[ext] ?? 'application/octet-stream', etag });
  }
  return assets;
}
