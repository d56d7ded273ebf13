import { MedallionError } from '../../core/errors.ts';

/** Longest time connecting to an unreachable broker may take before MDL_KAFKA_UNREACHABLE. */
export const CONNECT_DEADLINE_MS = 15_000;

/** Connection settings shared by every client of this adapter: fail fast when nothing answers. */
export function clientOptions(brokers: readonly string[], clientId: string) {
  return {
    clientId,
    bootstrapBrokers: [...brokers],
    connectTimeout: 5_000,
    // JoinGroup may legitimately block for the group's rebalance timeout (30 s, see KafkaSource).
    requestTimeout: 45_000,
    retries: 2,
    retryDelay: 500,
    autocreateTopics: false,
  };
}

const NETWORK_CODES = new Set([
  'PLT_KFK_NETWORK',
  'PLT_KFK_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
]);

interface ErrorNode {
  readonly code?: unknown;
  readonly apiId?: unknown;
  readonly message?: unknown;
  readonly errors?: unknown;
  readonly cause?: unknown;
  readonly canRetry?: unknown;
  readonly response?: unknown;
}

/** Every error in a client error tree (AggregateError `errors` and `cause` chains), depth first. */
export function errorTree(err: unknown): ErrorNode[] {
  const out: ErrorNode[] = [];
  const seen = new Set<unknown>();
  const walk = (e: unknown, depth: number) => {
    if (!e || typeof e !== 'object' || seen.has(e) || depth > 8) return;
    seen.add(e);
    const node = e as ErrorNode;
    out.push(node);
    if (Array.isArray(node.errors)) for (const child of node.errors) walk(child, depth + 1);
    walk(node.cause, depth + 1);
  };
  walk(err, 0);
  return out;
}

/** Kafka protocol error names (`OFFSET_OUT_OF_RANGE`, …) found in a client error. */
export function protocolErrorNames(err: unknown): string[] {
  const names = new Set<string>();
  for (const node of errorTree(err)) if (typeof node.apiId === 'string') names.add(node.apiId);
  return [...names];
}

/** True when the error means no broker could be reached (refused, reset, timed out…). */
export function isNetworkError(err: unknown): boolean {
  return errorTree(err).some((node) => typeof node.code === 'string' && NETWORK_CODES.has(node.code));
}

/** MDL_KAFKA_UNREACHABLE: nothing answered at the brokers. */
export function unreachable(brokers: readonly string[], action: string, cause?: unknown): MedallionError {
  return new MedallionError(
    'MDL_KAFKA_UNREACHABLE',
    `Kafka broker ${brokers.join(',')} is not reachable (${action}).`,
    {
      cause,
      retriable: true,
      hint: 'Check --kafka / MEDALLION_KAFKA_BROKERS and that the broker runs (locally: scripts/kafka.sh start).',
      details: { brokers: [...brokers], action },
    },
  );
}

/** Maps anything a client throws to MDL_KAFKA_UNREACHABLE or MDL_KAFKA_PROTOCOL. */
export function kafkaError(err: unknown, brokers: readonly string[], action: string): MedallionError {
  if (err instanceof MedallionError) return err;
  if (isNetworkError(err)) return unreachable(brokers, action, err);
  const names = protocolErrorNames(err);
  const message = err instanceof Error ? err.message : String(err);
  const retriable = errorTree(err).some((node) => node.canRetry === true);
  return new MedallionError(
    'MDL_KAFKA_PROTOCOL',
    `Kafka refused to ${action}: ${names.length > 0 ? names.join(', ') : message}`,
    {
      cause: err,
      retriable,
      hint: retriable
        ? 'This is usually transient (leadership or group changes); retry.'
        : 'Check the topic, the consumer group and the broker configuration; the broker log says more.',
      details: { brokers: [...brokers], action, errors: names },
    },
  );
}

/**
 * Settles with the promise, or rejects with `onTimeout()` once `ms` have passed. The client's own
 * retries are bounded, but some of its paths (an idempotent producer's initialisation against a
 * broker that is down) never settle; this is what keeps every call here bounded in time.
 */
export async function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => MedallionError): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
    promise.catch(() => {});
  }
}
