/**
 * `npm run bench -- build [--runs R] [--events N] [--models M] [--keep]`: Medallion's dbt runner
 * against dbt-core (with dbt-duckdb) in the same run, on two workloads:
 *
 * 1. The flagship gold build: a warehouse with silver loaded from N simulated events (default
 *    20,000) is prepared once; each run copies it and times `medallion dbt build` and `dbt build`
 *    (both as the command a user runs, process start to exit) on the flagship gold project.
 *    The headline numbers are this workload's medians (seconds, lower is better).
 *    The same build is also timed in process, as the pipeline runs it after each micro-batch
 *    (runDbt on an open warehouse: no process start, no DuckDB load, open or checkpoint).
 * 2. Parse + compile of a generated M-model project (default 1,000 models in layers, with sources,
 *    refs, vars, macros, Jinja loops and generic tests): `medallion dbt compile` vs `dbt compile`
 *    (every node compiled; dbt-core with and without partial parsing, below), medians in the details.
 *
 * Both tools keep state between runs in their target folder: dbt-core its partial-parse file,
 * Medallion its own (medallion_partial_parse.json) and its compiled Jinja templates; both still
 * compile every node each run. Each iteration therefore times each tool twice: with that state
 * removed first ("cold": dbt-core with partial parsing off; Medallion with no partial-parse file
 * and no template cache) and as a repeated run finds it ("warm"; dbt-core with partial parsing on
 * and the file its previous run left). Outputs of earlier runs (compiled SQL, artifacts) stay in
 * the target folders in both: on a new checkout both tools would also create every compiled file,
 * which on this machine's disk costs about half a millisecond a file. Medians and ratios are given
 * for warm against warm and cold against cold; the headline numbers are Medallion warm against
 * dbt-core cold, as before.
 *
 * dbt-core comes from MEDALLION_DBT, else `scripts/python-peers.sh` is run to make the venv.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PARTIAL_PARSE_FILE } from '../src/build/dbt/compile/partial-parse.ts';
import { runDbt } from '../src/build/dbt/index.ts';
import { TEMPLATE_CACHE_FILE } from '../src/build/dbt/run/run-dbt.ts';
import { FLAGSHIP_PROJECT_DIR, REPO_ROOT } from '../src/config/project.ts';
import { DuckDbWarehouse } from '../src/warehouse/duckdb/duckdb-warehouse.ts';
import { type BenchResult, benchResult, median, note } from './bench-kit.ts';

/** dbt-core's partial-parse file in its target folder. */
const DBT_PARTIAL_PARSE_FILE = 'partial_parse.msgpack';

/** Removes what a tool keeps between runs in its target folder (a cold run finds none of it). */
async function removeState(side: 'medallionCold' | 'dbt', target: string): Promise<void> {
  const files =
    side === 'dbt'
      ? [DBT_PARTIAL_PARSE_FILE]
      : [TEMPLATE_CACHE_FILE, TEMPLATE_CACHE_FILE.replace(/\.json$/, '.bin'), PARTIAL_PARSE_FILE];
  for (const f of files) await rm(join(target, f), { force: true });
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

function exec(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out = (out + d).slice(-20000);
    });
    child.stderr.on('data', (d) => {
      out = (out + d).slice(-20000);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, ms: performance.now() - t0 }));
  });
}

function dbtBinary(): string {
  if (process.env.MEDALLION_DBT) return process.env.MEDALLION_DBT;
  note('MEDALLION_DBT not set: running scripts/python-peers.sh');
  const r = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'python-peers.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const m = /MEDALLION_DBT=(.+)/.exec(r.stdout ?? '');
  if (r.status !== 0 || !m) throw new Error('scripts/python-peers.sh failed');
  return m[1]!.trim();
}

const MEDALLION = [join(REPO_ROOT, 'bin', 'medallion.js')];

/** Says so when a dbt-core run meant to partial-parse parsed everything again (its timing is then a cold one). */
function warnUnlessPartial(side: string, out: string): void {
  const why = /Unable to do partial parsing[^\n]*/.exec(out);
  if (side === 'dbtWarm' && why) note(`dbt-core did a full parse in a partial-parse run: ${why[0]}`);
}
const NODE = process.execPath;

/** A dbt project of `models` models: sources, staging views, then layers of tables that ref earlier models. */
export async function generateProject(dir: string, models: number): Promise<void> {
  await mkdir(join(dir, 'models', 'staging'), { recursive: true });
  await mkdir(join(dir, 'models', 'marts'), { recursive: true });
  await mkdir(join(dir, 'macros'), { recursive: true });
  await writeFile(
    join(dir, 'dbt_project.yml'),
    `name: bench_project\nprofile: bench_project\nversion: "1.0.0"\nconfig-version: 2\nmodel-paths: [models]\nmacro-paths: [macros]\nvars:\n  cutoff: 10\nmodels:\n  bench_project:\n    staging:\n      +materialized: view\n    marts:\n      +materialized: table\n      +schema: marts\n`,
  );
  await writeFile(
    join(dir, 'profiles.yml'),
    `bench_project:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: "{{ env_var('BENCH_DUCKDB_PATH', ':memory:') }}"\n      schema: main\n      threads: 1\n`,
  );
  await writeFile(
    join(dir, 'macros', 'helpers.sql'),
    `{% macro cents(col) -%}\n  cast(round({{ col }} * 100) as bigint)\n{%- endmacro %}\n\n{% macro sum_columns(cols) -%}\n  {%- for c in cols %}{{ c }}{% if not loop.last %} + {% endif %}{% endfor -%}\n{%- endmacro %}\n`,
  );
  const sources = Math.max(1, Math.round(models / 20));
  const staging = Math.max(1, Math.round(models / 10));
  await writeFile(
    join(dir, 'models', 'sources.yml'),
    `version: 2\nsources:\n  - name: raw\n    schema: raw\n    tables:\n${Array.from({ length: sources }, (_, i) => `      - name: t${i}\n`).join('')}`,
  );
  const yaml: string[] = ['version: 2', 'models:'];
  for (let i = 0; i < staging; i++) {
    await writeFile(
      join(dir, 'models', 'staging', `stg_${i}.sql`),
      `select id, amount, {{ cents('amount') }} as amount_cents, '{{ var("cutoff") }}' as cutoff\nfrom {{ source('raw', 't${i % sources}') }}\nwhere amount > {{ var('cutoff') }}\n`,
    );
    yaml.push(`  - name: stg_${i}`, '    columns:', '      - name: id', '        data_tests: [not_null]');
  }
  for (let i = staging; i < models; i++) {
    const parents = [i - 1, Math.floor(i / 2), Math.floor(i / 3)].filter((p, k, a) => p >= 0 && a.indexOf(p) === k);
    const name = (n: number) => (n < staging ? `stg_${n}` : `m_${n}`);
    const cols = parents.map((_, k) => `p${k}.amount`);
    const sql = `{{ config(tags=['layer_${i % 5}']) }}
with ${parents.map((p, k) => `p${k} as (select id, amount from {{ ref('${name(p)}') }})`).join(',\n     ')}
select p0.id,
       {{ sum_columns([${cols.map((c) => `'${c}'`).join(', ')}]) }} as amount,
       {% for k in range(3) %}{{ k }} as c{{ k }}{% if not loop.last %}, {% endif %}{% endfor %}
from p0
${parents
  .slice(1)
  .map((_, k) => `left join p${k + 1} using (id)`)
  .join('\n')}
`;
    await writeFile(join(dir, 'models', 'marts', `m_${i}.sql`), sql);
    if (i % 10 === 0)
      yaml.push(`  - name: m_${i}`, '    columns:', '      - name: id', '        data_tests: [unique, not_null]');
  }
  await writeFile(join(dir, 'models', 'schema.yml'), `${yaml.join('\n')}\n`);
}

export async function run(args: string[]): Promise<BenchResult> {
  const runs = Number(flag(args, 'runs') ?? 3);
  const events = Number(flag(args, 'events') ?? 20000);
  const models = Number(flag(args, 'models') ?? 1000);
  const dbt = dbtBinary();
  const dir = await mkdtemp(join(tmpdir(), 'medallion-bench-build-'));
  const dbtEnv = {
    DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
    DBT_PARTIAL_PARSE: 'false',
    DBT_LOG_PATH: join(dir, 'dbt-logs'),
  };
  try {
    note(`preparing silver from ${events} simulated events`);
    const home = join(dir, 'home');
    for (const a of [['simulate', '--events', String(events)], ['ingest', '--once'], ['refine'], ['load']]) {
      const r = await exec(NODE, [...MEDALLION, ...a], { MEDALLION_HOME: home, MEDALLION_QUIET: '1' });
      if (r.code !== 0) throw new Error(`medallion ${a.join(' ')}: ${r.out}`);
    }
    const silver = join(home, 'warehouse', 'medallion.duckdb');
    const gold = join(FLAGSHIP_PROJECT_DIR, 'gold');
    const profiles = join(dir, 'profiles');
    await mkdir(profiles);
    await copyFile(join(gold, 'profiles.yml'), join(profiles, 'profiles.yml'));
    const build = {
      medallion: [] as number[],
      dbt: [] as number[],
      medallionCold: [] as number[],
      dbtWarm: [] as number[],
    };
    // Each cold run comes first, so the warm run after it finds the cache that run left.
    const sides = (i: number) =>
      i % 2 === 0
        ? (['medallionCold', 'medallion', 'dbt', 'dbtWarm'] as const)
        : (['dbt', 'dbtWarm', 'medallionCold', 'medallion'] as const);
    // Medallion's cold and warm runs share a target folder (the cold run leaves the warm one its
    // state); dbt-core's do not (its cold run has partial parsing off; the warm one keeps its own folder).
    const targetOf = (side: string, what: string) =>
      join(dir, `${side.startsWith('dbt') ? side : 'medallion'}-${what}target`);
    const dbtSideEnv = (side: string) => ({ ...dbtEnv, DBT_PARTIAL_PARSE: side === 'dbtWarm' ? 'true' : 'false' });
    type Side = ReturnType<typeof sides>[number];
    const buildOnce = async (side: Side, priming = false): Promise<number> => {
      // One path per side: dbt-core's partial parse starts over when the profile's path changes.
      const file = join(dir, `${side}.duckdb`);
      await copyFile(silver, file);
      const target = targetOf(side, '');
      if (side === 'medallionCold' || side === 'dbt') await removeState(side, target);
      const flags = ['build', '--project-dir', gold, '--profiles-dir', profiles, '--target-path', target];
      const r = side.startsWith('dbt')
        ? await exec(dbt, flags, { ...dbtSideEnv(side), MEDALLION_WAREHOUSE_PATH: file })
        : await exec(NODE, [...MEDALLION, 'dbt', ...flags], { MEDALLION_WAREHOUSE_PATH: file, MEDALLION_QUIET: '1' });
      if (r.code !== 0) throw new Error(`${side} build failed: ${r.out}`);
      if (!priming) warnUnlessPartial(side, r.out);
      await rm(file, { force: true });
      return r.ms / 1000;
    };
    // dbt-core's warm side starts from the partial-parse file of one untimed run (Medallion's warm
    // run follows its cold one in every iteration).
    await buildOnce('dbtWarm', true);
    for (let i = 0; i < runs; i++) {
      for (const side of sides(i)) {
        const s = await buildOnce(side);
        build[side].push(s);
        note(`flagship build run ${i + 1}/${runs}: ${side} ${s.toFixed(2)} s`);
      }
    }
    // The same build as the pipeline runs it after each micro-batch (`medallion run`): in a running
    // process, on its open warehouse. Times runDbt alone: no process start, no DuckDB load or open,
    // no checkpoint at close (the pipeline's warehouse stays open). One untimed build warms it up.
    const inProcess: number[] = [];
    const inProcessFile = join(dir, 'in-process.duckdb');
    // The profile names its path through this variable (the build itself uses the open warehouse).
    const warehouseVar = process.env.MEDALLION_WAREHOUSE_PATH;
    process.env.MEDALLION_WAREHOUSE_PATH = inProcessFile;
    for (let i = 0; i <= runs; i++) {
      await copyFile(silver, inProcessFile);
      const warehouse = await DuckDbWarehouse.open(inProcessFile);
      try {
        const t0 = performance.now();
        const r = await runDbt({
          command: 'build',
          projectDir: gold,
          profilesDir: profiles,
          targetPath: join(dir, 'in-process-target'),
          warehouse,
          onEvent: () => {},
        });
        const s = (performance.now() - t0) / 1000;
        if (!r.success) throw new Error('in-process build failed');
        if (i > 0) {
          inProcess.push(s);
          note(`flagship build in process ${i}/${runs}: ${s.toFixed(2)} s`);
        }
      } finally {
        await warehouse.close();
      }
    }
    if (warehouseVar === undefined) delete process.env.MEDALLION_WAREHOUSE_PATH;
    else process.env.MEDALLION_WAREHOUSE_PATH = warehouseVar;

    const project = join(dir, 'generated');
    await generateProject(project, models);
    const compile = {
      medallion: [] as number[],
      dbt: [] as number[],
      medallionCold: [] as number[],
      dbtWarm: [] as number[],
    };
    const compileOnce = async (side: Side, priming = false): Promise<number> => {
      const target = targetOf(side, 'gen-');
      if (side === 'medallionCold' || side === 'dbt') await removeState(side, target);
      const flags = ['compile', '--project-dir', project, '--profiles-dir', project, '--target-path', target];
      const env = { BENCH_DUCKDB_PATH: join(dir, `${side}-gen.duckdb`) };
      const r = side.startsWith('dbt')
        ? await exec(dbt, flags, { ...dbtSideEnv(side), ...env })
        : await exec(NODE, [...MEDALLION, 'dbt', ...flags], { ...env, MEDALLION_QUIET: '1' });
      if (r.code !== 0) throw new Error(`${side} compile failed: ${r.out}`);
      if (!priming) warnUnlessPartial(side, r.out);
      return r.ms / 1000;
    };
    await compileOnce('dbtWarm', true);
    for (let i = 0; i < runs; i++) {
      for (const side of sides(i)) {
        const s = await compileOnce(side);
        compile[side].push(s);
        note(`${models}-model parse+compile run ${i + 1}/${runs}: ${side} ${s.toFixed(2)} s`);
      }
    }
    const speedup = (s: { medallion: number[]; dbt: number[] }) => median(s.dbt) / median(s.medallion);
    const speedupCold = (s: { medallionCold: number[]; dbt: number[] }) => median(s.dbt) / median(s.medallionCold);
    const speedupWarm = (s: { medallion: number[]; dbtWarm: number[] }) => median(s.dbtWarm) / median(s.medallion);
    for (const [what, s] of [
      ['flagship build', build],
      [`${models}-model parse+compile`, compile],
    ] as const)
      note(
        `${what} medians: medallion warm ${median(s.medallion).toFixed(2)} s, cold ${median(s.medallionCold).toFixed(2)} s; ` +
          `dbt-core partial parse on ${median(s.dbtWarm).toFixed(2)} s, off ${median(s.dbt).toFixed(2)} s; ` +
          `warm/warm ${speedupWarm(s).toFixed(1)}x, cold/cold ${speedupCold(s).toFixed(1)}x, ` +
          `medallion warm/dbt-core off ${speedup(s).toFixed(1)}x`,
      );
    note(
      `flagship build in process (as a pipeline cycle): median ${median(inProcess).toFixed(2)} s; ` +
        `dbt-core partial parse on ${(median(build.dbtWarm) / median(inProcess)).toFixed(1)}x, off ${(median(build.dbt) / median(inProcess)).toFixed(1)}x slower`,
    );
    return benchResult('build', 's', 'lower', build.medallion, build.dbt, {
      flagshipBuild: {
        events,
        medallionS: build.medallion,
        dbtS: build.dbt,
        medianMedallionS: median(build.medallion),
        medianDbtS: median(build.dbt),
        speedup: speedup(build),
        medallionColdS: build.medallionCold,
        medianMedallionColdS: median(build.medallionCold),
        speedupCold: speedupCold(build),
        dbtPartialParseS: build.dbtWarm,
        medianDbtPartialParseS: median(build.dbtWarm),
        speedupWarmVsPartialParse: speedupWarm(build),
        inProcessS: inProcess,
        medianInProcessS: median(inProcess),
        goal: 10,
      },
      parseCompile: {
        models,
        medallionS: compile.medallion,
        dbtS: compile.dbt,
        medianMedallionS: median(compile.medallion),
        medianDbtS: median(compile.dbt),
        speedup: speedup(compile),
        medallionColdS: compile.medallionCold,
        medianMedallionColdS: median(compile.medallionCold),
        speedupCold: speedupCold(compile),
        dbtPartialParseS: compile.dbtWarm,
        medianDbtPartialParseS: median(compile.dbtWarm),
        speedupWarmVsPartialParse: speedupWarm(compile),
        goal: 30,
      },
      reference: 'dbt-core 1.11.16 + dbt-duckdb 1.11.1 (scripts/python-peers.sh), same machine, same input',
    });
  } finally {
    if (!args.includes('--keep')) await rm(dir, { recursive: true, force: true });
    else note(`kept ${dir}`);
  }
}
