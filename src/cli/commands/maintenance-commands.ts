import { MedallionError } from '../../core/errors.ts';
import { progress } from '../../core/logger.ts';
import { optimizeTable, vacuumTable } from '../../lake/delta/delta-maintenance.ts';
import { type EventLayer, openLayerTable } from '../../refine/layer-tables.ts';
import { type Command, intOption } from '../command.ts';
import { printJson, withContext } from '../context-options.ts';

const LAYERS: readonly EventLayer[] = ['silver', 'quarantine', 'duplicates'];

/** `medallion optimize`. */
export const optimizeCommand: Command = {
  name: 'optimize',
  summary:
    'Compact the small files of the silver, quarantine and duplicates Delta tables (one commit per table; rows unchanged, dataChange=false).',
  usage: 'optimize [--target-rows N] [--json]',
  options: {
    'target-rows': {
      type: 'string',
      placeholder: 'N',
      description: 'Merge files with fewer rows than N into files of about N rows (default: by size, 64 MiB).',
    },
    json: { type: 'boolean', description: 'Print what was done as JSON on stdout.' },
  },
  async run(values) {
    const targetFileRows = intOption(values, 'target-rows', 1);
    const out = await withContext(values, async (ctx) => {
      const result: Record<string, unknown> = {};
      for (const layer of LAYERS) {
        const table = await openLayerTable(ctx.project, ctx.storage, ctx.engine, layer);
        if (!table) continue;
        const r = await optimizeTable(table, targetFileRows !== undefined ? { targetFileRows } : {});
        result[layer] = r;
        progress(
          r.version === undefined
            ? `optimize: ${layer}: nothing to compact`
            : `optimize: ${layer}: ${r.filesRemoved} file(s) → ${r.filesAdded} in ${r.partitionsOptimized} partition(s) (version ${r.version})`,
        );
      }
      return result;
    });
    if (values['json']) printJson(out);
    return 0;
  },
};

/** `medallion vacuum`. */
export const vacuumCommand: Command = {
  name: 'vacuum',
  summary:
    'Delete data files of the silver, quarantine and duplicates Delta tables that no version newer than the retention needs (and files left by crashed writers). Time travel to older versions stops working.',
  usage: 'vacuum [--retention-hours H] [--force] [--dry-run] [--json]',
  options: {
    'retention-hours': {
      type: 'string',
      placeholder: 'H',
      description: 'Keep files removed less than H hours ago (default 168 = 7 days).',
    },
    force: {
      type: 'boolean',
      description: 'Allow a retention under 168 hours (a running writer or reader may lose files).',
    },
    'dry-run': { type: 'boolean', description: 'List what would be deleted, delete nothing.' },
    json: { type: 'boolean', description: 'Print what was (or would be) deleted as JSON on stdout.' },
  },
  async run(values) {
    const h = values['retention-hours'];
    const retentionHours = h === undefined ? undefined : Number(h);
    if (retentionHours !== undefined && !(retentionHours >= 0)) {
      throw new MedallionError('MDL_USAGE', `--retention-hours must be a number ≥ 0 (got "${String(h)}").`, {
        hint: 'Pass --retention-hours 168 for seven days.',
      });
    }
    const out = await withContext(values, async (ctx) => {
      const result: Record<string, unknown> = {};
      for (const layer of LAYERS) {
        const table = await openLayerTable(ctx.project, ctx.storage, ctx.engine, layer);
        if (!table) continue;
        const r = await vacuumTable(table, {
          retentionHours,
          force: Boolean(values['force']),
          dryRun: Boolean(values['dry-run']),
        });
        result[layer] = r;
        progress(
          `vacuum: ${layer}: ${r.dryRun ? 'would delete' : 'deleted'} ${r.deleted.length} file(s), ${r.bytes} bytes`,
        );
      }
      return result;
    });
    if (values['json']) printJson(out);
    return 0;
  },
};
