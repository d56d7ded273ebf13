import type { FaultRates } from '../config/schema.ts';
import { MedallionError } from '../core/errors.ts';

export type { FaultRates };

/** The fault kinds, in the order they are reported. */
export const FAULT_KINDS = ['duplicate', 'late', 'outOfOrder', 'malformed', 'invalid', 'unknownSchool'] as const;

/** Highest rate accepted for any fault kind (as in the config schema). */
export const MAX_FAULT_RATE = 0.5;

/** Which faults to inject: the config's rates, none, or the config's rates with some replaced. */
export type FaultSelection = 'default' | 'none' | Partial<FaultRates>;

/** All rates zero. */
export const NO_FAULTS: FaultRates = {
  duplicate: 0,
  late: 0,
  outOfOrder: 0,
  malformed: 0,
  invalid: 0,
  unknownSchool: 0,
};

function usage(message: string): MedallionError {
  return new MedallionError('MDL_USAGE', message, {
    hint: `Use default, none, or comma-separated kind=rate pairs with rates from 0 to ${MAX_FAULT_RATE} (kinds: ${FAULT_KINDS.join(', ')}), optionally after "none," to start from no faults.`,
  });
}

function isKind(key: string): key is keyof FaultRates {
  return (FAULT_KINDS as readonly string[]).includes(key);
}

/**
 * Parses `--faults`: `default` (the config's rates), `none`, or a SPEC of comma-separated
 * `kind=rate` pairs such as `duplicate=0.01,late=0,malformed=0.002`. Kinds a SPEC does not name
 * keep the config's rate; a SPEC starting with `none,` (e.g. `none,duplicate=0.01`) starts from
 * zero instead. Throws MDL_USAGE on an unknown kind, a repeated kind or a rate that is not a
 * number from 0 to 0.5.
 */
export function parseFaultSpec(spec: string): FaultSelection {
  const text = spec.trim();
  if (text === 'default' || text === 'none') return text;
  if (text === '') throw usage('--faults is empty.');
  const items = text.split(',').map((s) => s.trim());
  let base: FaultSelection = 'default';
  if (items[0] === 'none' || items[0] === 'default') base = items.shift() as 'none' | 'default';
  const out: Partial<Record<keyof FaultRates, number>> = base === 'none' ? { ...NO_FAULTS } : {};
  const seen = new Set<string>();
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq < 0) throw usage(`--faults item "${item}" is not kind=rate.`);
    const key = item.slice(0, eq).trim();
    const raw = item.slice(eq + 1).trim();
    if (!isKind(key)) throw usage(`--faults has an unknown fault kind "${key}".`);
    if (seen.has(key)) throw usage(`--faults names "${key}" twice.`);
    seen.add(key);
    const rate = /^(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(rate >= 0 && rate <= MAX_FAULT_RATE)) {
      throw usage(`--faults rate "${raw}" for ${key} is not a number from 0 to ${MAX_FAULT_RATE}.`);
    }
    out[key] = rate;
  }
  return out;
}

/** The rates a selection means, given the config's default rates; checks programmatic values too. */
export function resolveFaultRates(selection: FaultSelection | undefined, defaults: FaultRates): FaultRates {
  if (selection === undefined || selection === 'default') return { ...defaults };
  if (selection === 'none') return { ...NO_FAULTS };
  if (typeof selection !== 'object' || selection === null)
    throw usage(`Fault selection ${String(selection)} is not valid.`);
  const out: FaultRates = { ...defaults };
  for (const [key, rate] of Object.entries(selection)) {
    if (rate === undefined) continue;
    if (!isKind(key)) throw usage(`Unknown fault kind "${key}".`);
    if (typeof rate !== 'number' || !(rate >= 0 && rate <= MAX_FAULT_RATE)) {
      throw usage(`Fault rate ${String(rate)} for ${key} is not a number from 0 to ${MAX_FAULT_RATE}.`);
    }
    out[key] = rate;
  }
  return out;
}
