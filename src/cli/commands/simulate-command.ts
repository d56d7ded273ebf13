import { loadProject } from '../../config/project.ts';
import { MedallionError } from '../../core/errors.ts';
import { progress } from '../../core/logger.ts';
import { type EventSink, LandingSink, parseFaultSpec, simulate } from '../../simulate/index.ts';
import { resolveBrokers } from '../../sources/event-source.ts';
import { type Command, intOption, numberOption } from '../command.ts';
import { printJson } from '../context-options.ts';

/** `medallion simulate`. */
export const simulateCommand: Command = {
  name: 'simulate',
  summary:
    'Simulate NYC school attendance events (one per enrolled student per school day, calibrated on the real reference files) into the landing directory or Kafka.',
  usage:
    'simulate [--events N | --days N] [--sample F] [--faults default|none|SPEC] [--kafka BROKERS] [--seed S] [--drop-borough B [--drop-from DATE]] [--json]',
  details:
    'Without --events or --days: one school day of every student of every open school.\n' +
    'SPEC sets fault rates, e.g. --faults duplicate=0.01,late=0.002 (kinds: duplicate, late, outOfOrder, malformed, invalid, unknownSchool).\n' +
    '--json prints the ground truth: {"records","duplicates","malformed","invalid","late","unknownSchool", …}.',
  options: {
    events: { type: 'string', placeholder: 'N', description: 'Write exactly N records in total, faults included.' },
    days: {
      type: 'string',
      placeholder: 'N',
      description: 'Simulate N consecutive school days (weekends and holidays skipped).',
    },
    sample: {
      type: 'string',
      placeholder: 'F',
      description: 'Only a fraction F (0 < F ≤ 1) of the students, the same each day.',
    },
    faults: {
      type: 'string',
      placeholder: 'MODE',
      description: 'Faults to inject: default (the config rates), none, or a SPEC (default: default).',
    },
    kafka: {
      type: 'string',
      placeholder: 'BROKERS',
      description:
        'Produce to the Kafka topic of the config (default: $MEDALLION_KAFKA_BROKERS; else the landing directory).',
    },
    seed: { type: 'string', placeholder: 'S', description: 'Random seed (default: simulate.seed of the config).' },
    'schema-v2': {
      type: 'string',
      placeholder: 'F',
      description: 'Share 0…1 of schools whose devices send event schema version 2 (adds device_id); default 0.',
    },
    'start-date': {
      type: 'string',
      placeholder: 'YYYY-MM-DD',
      description: 'First school day (default: simulate.startDate).',
    },
    'drop-borough': {
      type: 'string',
      placeholder: 'B',
      description:
        'Schools of borough B (M, X, K, Q or R) send nothing from --drop-from on (a volume drop; with --events, fewer records).',
    },
    'drop-from': {
      type: 'string',
      placeholder: 'YYYY-MM-DD',
      description: 'First day without the events of --drop-borough (default: the first day).',
    },
    json: { type: 'boolean', description: 'Print the ground truth as JSON on stdout.' },
  },
  async run(values) {
    const project = loadProject({
      projectDir: values['project'] as string | undefined,
      dataDir: values['data-dir'] as string | undefined,
    });
    const seedText = values['seed'] as string | undefined;
    if (seedText !== undefined && !/^-?\d+$/.test(seedText)) {
      throw new MedallionError('MDL_USAGE', `--seed must be a whole number (got "${seedText}").`, {
        hint: 'Pass --seed 7, say.',
      });
    }
    const brokers = resolveBrokers(values['kafka'] as string | undefined);
    const sink: EventSink = brokers
      ? await (await import('../../sources/kafka/simulator-sink.ts')).openKafkaSimulatorSink(project, brokers)
      : new LandingSink(project, { seed: seedText !== undefined ? Number(seedText) : project.config.simulate.seed });
    try {
      const truth = await simulate(
        project,
        {
          events: intOption(values, 'events', 1),
          days: intOption(values, 'days', 1),
          sample: numberOption(values, 'sample', 0, 1),
          schemaV2: values['schema-v2'] === undefined ? undefined : Number(values['schema-v2']),
          seed: seedText !== undefined ? Number(seedText) : undefined,
          startDate: values['start-date'] as string | undefined,
          dropBorough: (values['drop-borough'] as string | undefined)?.toUpperCase(),
          dropFrom: values['drop-from'] as string | undefined,
          faults: values['faults'] === undefined ? 'default' : parseFaultSpec(values['faults'] as string),
          onProgress: (p) =>
            progress(
              `simulate: day ${p.day}/${p.days} (${p.date}): ${p.records.toLocaleString('en-US')} records so far`,
            ),
        },
        sink,
      );
      await sink.close();
      progress(
        `simulate: ${truth.records.toLocaleString('en-US')} records (${truth.events.toLocaleString('en-US')} events, ${truth.duplicates} duplicates, ${truth.malformed} malformed, ${truth.invalid} invalid, ${truth.unknownSchool} unknown school, ${truth.late} late) → ${brokers ? `Kafka topic ${project.config.events.kafka.topic}` : 'landing directory'}`,
      );
      if (values['json']) printJson(truth);
      return 0;
    } finally {
      await sink.close().catch(() => {});
    }
  },
};
