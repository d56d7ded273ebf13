/**
 * The closed set of error codes Medallion reports. Each code is stable: scripts and people may
 * match on it. Add codes here; never reuse or rename one.
 */
export const ERROR_CODES = [
  'MDL_USAGE',
  'MDL_CONFIG_INVALID',
  'MDL_CONFIG_NOT_FOUND',
  'MDL_PROJECT_NOT_FOUND',
  'MDL_CONTRACT_INVALID',
  'MDL_REFERENCE_INVALID',
  'MDL_SOURCE_READ',
  'MDL_KAFKA_UNREACHABLE',
  'MDL_KAFKA_PROTOCOL',
  'MDL_STORAGE_IO',
  'MDL_WAREHOUSE_LOCKED',
  'MDL_WAREHOUSE_SQL',
  'MDL_QUERY_INVALID',
  'MDL_QUERY_READ_ONLY',
  'MDL_DBT_PROJECT_INVALID',
  'MDL_DBT_COMPILE',
  'MDL_DBT_RUN',
  'MDL_DBT_TEST_FAILED',
  'MDL_NOTHING_TO_SERVE',
  'MDL_SERVE_PORT_IN_USE',
  'MDL_INTERNAL',
  'MDL_DELTA_TABLE_NOT_FOUND',
  'MDL_DELTA_TABLE_EXISTS',
  'MDL_DELTA_PROTOCOL',
  'MDL_DELTA_CONFLICT',
  'MDL_DELTA_VERSION_NOT_FOUND',
  'MDL_DELTA_FILES_MISSING',
  'MDL_DELTA_UNSAFE_RETENTION',
  'MDL_CHECKS_INVALID',
  'MDL_CHECK_FAILED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface MedallionErrorOptions {
  /** One sentence telling the user what to do about it. */
  readonly hint?: string;
  /** The underlying error, if any. */
  readonly cause?: unknown;
  /** Whether trying the same operation again may succeed (network blips, locks). */
  readonly retriable?: boolean;
  /** Extra machine-readable detail (file, line, dataset…). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The one error class of Medallion: a stable code, a message, a hint of what to do, and a cause. */
export class MedallionError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly retriable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: MedallionErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'MedallionError';
    this.code = code;
    this.hint = options.hint;
    this.retriable = options.retriable ?? false;
    this.details = options.details ?? {};
  }

  /** The single line shown to users: code, what happened, what to do. */
  toUserLine(): string {
    const message = /[.!?]$/.test(this.message.trim()) ? this.message.trim() : `${this.message.trim()}.`;
    return `${this.code}: ${message}${this.hint ? ` ${this.hint}` : ''}`;
  }
}

/** Wraps anything thrown into a MedallionError, keeping an existing one as it is. */
export function asMedallionError(err: unknown, fallback: ErrorCode = 'MDL_INTERNAL'): MedallionError {
  if (err instanceof MedallionError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new MedallionError(fallback, message, {
    cause: err,
    hint:
      fallback === 'MDL_INTERNAL'
        ? 'This is a bug in Medallion; rerun with MEDALLION_LOG_LEVEL=debug and report it.'
        : undefined,
  });
}
