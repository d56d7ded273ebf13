import { MedallionError } from '../../core/errors.ts';

const DEFAULT_PORT = 9092;
const HOST = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

function invalid(text: string, why: string): MedallionError {
  return new MedallionError('MDL_USAGE', `Invalid Kafka broker list "${text}": ${why}.`, {
    hint: 'Give brokers as host:port[,host:port…] in --kafka or MEDALLION_KAFKA_BROKERS, e.g. 127.0.0.1:9092.',
  });
}

function parsePort(text: string, port: string): number {
  if (!/^\d{1,5}$/.test(port)) throw invalid(text, `port "${port}" is not a number`);
  const n = Number(port);
  if (n < 1 || n > 65535) throw invalid(text, `port ${n} is out of range`);
  return n;
}

/**
 * Parses a broker list `host:port,host:port` (as given to `--kafka` or MEDALLION_KAFKA_BROKERS)
 * into `host:port` strings. Whitespace and empty entries are ignored, a missing port means 9092,
 * IPv6 hosts go in brackets (`[::1]:9092`). Throws MDL_USAGE when the list is empty or malformed.
 */
export function parseBrokers(text: string): string[] {
  const brokers: string[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry.length === 0) continue;
    if (entry.includes('://')) throw invalid(text, `"${entry}" has a scheme; give host:port only`);
    let host: string;
    let port = DEFAULT_PORT;
    if (entry.startsWith('[')) {
      const m = /^\[([^\]]+)\](?::(.*))?$/.exec(entry);
      if (!m || !IPV6.test(m[1]!)) throw invalid(text, `"${entry}" is not [ipv6]:port`);
      host = `[${m[1]}]`;
      if (m[2] !== undefined) port = parsePort(text, m[2]);
    } else {
      const parts = entry.split(':');
      if (parts.length > 2) throw invalid(text, `"${entry}" has more than one ':' (put IPv6 hosts in brackets)`);
      host = parts[0]!;
      if (parts.length === 2) port = parsePort(text, parts[1]!);
      if (!HOST.test(host)) throw invalid(text, `"${host}" is not a host name or address`);
    }
    const broker = `${host}:${port}`;
    if (!brokers.includes(broker)) brokers.push(broker);
  }
  if (brokers.length === 0) throw invalid(text, 'no broker given');
  return brokers;
}
