import { join } from 'node:path';
import { loadProject } from '../../config/project.ts';
import { MedallionError } from '../../core/errors.ts';
import { progress } from '../../core/logger.ts';
import { type ExportFormat, exportGold } from '../../serve/gold-export.ts';
import type { Command } from '../command.ts';
import { printJson } from '../context-options.ts';

const FORMATS: readonly ExportFormat[] = ['parquet', 'csv', 'both'];

/** `medallion export`: the gold tables as Parquet and/or CSV files, for Power BI or any other tool. */
export const exportCommand: Command = {
  name: 'export',
  summary:
    'Write the gold marts as Parquet and/or CSV files (counts under 10 students published as s), for Power BI or any other tool.',
  usage: 'export [--out DIR] [--format parquet|csv|both] [--json]',
  details:
    'Every gold table (dim_school, dim_borough, dim_district, fact_event_metrics, fact_equity_metrics, school_snapshot, and any mart added later) becomes <DIR>/<table>.parquet and/or .csv. Figures resting on fewer than privacy.minGroupSize students are written as s, so those columns are text. See the README for connecting Power BI.',
  options: {
    out: {
      type: 'string',
      placeholder: 'DIR',
      description: 'Folder to write to (default: <data dir>/export).',
    },
    format: { type: 'string', placeholder: 'FMT', description: 'parquet, csv or both (default: both).' },
    json: { type: 'boolean', description: 'Print what was written as JSON on stdout.' },
  },
  async run(values) {
    const format = ((values['format'] as string | undefined) ?? 'both') as ExportFormat;
    if (!FORMATS.includes(format)) {
      throw new MedallionError('MDL_USAGE', `--format must be parquet, csv or both, not "${format}".`, {
        hint: 'Pass --format parquet, --format csv or --format both.',
      });
    }
    const project = loadProject({
      projectDir: values['project'] as string | undefined,
      dataDir: values['data-dir'] as string | undefined,
    });
    const outDir = (values['out'] as string | undefined) ?? join(project.paths.root, 'export');
    const tables = await exportGold({
      warehousePath: project.paths.warehouse,
      outDir,
      format,
      minGroupSize: project.config.privacy.minGroupSize,
    });
    if (values['json']) printJson({ outDir, format, tables });
    else {
      for (const t of tables) {
        process.stdout.write(
          `${t.table.padEnd(22)} ${t.rows.toLocaleString('en-US').padStart(10)} rows  ${String(t.suppressedCells).padStart(7)} cells s  ${t.files.join(', ')}\n`,
        );
      }
      progress(`export: ${tables.length} gold tables written to ${outDir}`);
    }
    return 0;
  },
};
