/**
 * Environment configuration, validated once at start-up. Every problem is collected and reported
 * together, each naming its variable, so a misconfigured deployment fails fast and says why.
 */
export interface VariableSpec<T> {
  description: string;
  /** Undefined means the variable is optional and absent values stay undefined. */
  default?: string;
  required?: boolean;
  /** Never echoed in error messages. */
  sensitive?: boolean;
  parse: (raw: string) => T | { error: string };
}

export type Schema = Record<string, VariableSpec<unknown>>;
export type ConfigOf<S extends Schema> = {
  [K in keyof S]: S[K] extends VariableSpec<infer T>
    ? S[K]['required'] extends true
      ? T
      : S[K]['default'] extends string
        ? T
        : T | undefined
    : never;
};

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const isError = (value: unknown): value is { error: string } =>
  typeof value === 'object' &&
  value !== null &&
  'error' in value &&
  typeof (value as { error: unknown }).error === 'string';

export const loadConfig = <S extends Schema>(schema: S, env: Record<string, string | undefined>): ConfigOf<S> => {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(schema)) {
    const raw = env[name] === '' ? undefined : env[name];
    const value = raw ?? spec.default;
    if (value === undefined) {
      if (spec.required) problems.push(`${name} is required: ${spec.description}`);
      continue;
    }
    const parsed = spec.parse(value);
    if (isError(parsed))
      problems.push(
        `${spec.sensitive ? `${name} (value hidden)` : `${name}=${JSON.stringify(redactCredentials(value))}`} is invalid: ${parsed.error}`,
      );
    else config[name] = parsed;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config as ConfigOf<S>;
};

// Parsers -----------------------------------------------------------------------------------------

export const port = (raw: string): number | { error: string } => {
  const value = Number(raw);
  // 0 asks the OS for a free port (tests).
  return /^\d+$/.test(raw) && value >= 0 && value <= 65535
    ? value
    : { error: 'expected a TCP port between 0 and 65535' };
};

export const positiveInteger = (raw: string): number | { error: string } =>
  /^[1-9]\d*$/.test(raw) ? Number(raw) : { error: 'expected a positive whole number' };

export const nonNegativeInteger = (raw: string): number | { error: string } =>
  /^(0|[1-9]\d*)$/.test(raw) ? Number(raw) : { error: 'expected a whole number, 0 or more' };

/** A decimal number, 0 or more (fractions allowed: `0.5` days). */
export const nonNegativeNumber = (raw: string): number | { error: string } =>
  /^(0|[1-9]\d*)(\.\d+)?$/.test(raw) ? Number(raw) : { error: 'expected a number, 0 or more (such as 43 or 0.5)' };

export const url =
  (...protocols: string[]) =>
  (raw: string): string | { error: string } => {
    try {
      const parsed = new URL(raw);
      return protocols.includes(parsed.protocol.replace(/:$/, ''))
        ? raw
        : { error: `expected a URL with scheme ${protocols.map((p) => `${p}://`).join(' or ')}` };
    } catch {
      return { error: `expected a URL such as ${protocols[0]}://host:port` };
    }
  };

/** A comma-separated list of NATS servers, each a nats:// or tls:// URL. */
export const natsServers = (raw: string): string | { error: string } => {
  const bad = raw
    .split(',')
    .map((s) => s.trim())
    .find((server) => isError(url('nats', 'tls')(server)));
  return bad === undefined ? raw : { error: `"${bad}" is not a nats:// or tls:// URL` };
};

/** A tenant id: it becomes part of stream names (`account-<tenant>_<id>`), so it never contains their `_` separator. */
export const tenantId = (raw: string): string | { error: string } =>
  /^[a-z][a-z0-9]{0,30}$/.test(raw)
    ? raw
    : {
        error:
          'expected a lower-case letter, then lower-case letters and digits (no "_": it separates tenant and id in stream names), at most 31 characters',
      };

export const identifier = (raw: string): string | { error: string } =>
  /^[a-z][a-z0-9_]{0,30}$/.test(raw)
    ? raw
    : { error: 'expected lower-case letters, digits and _, starting with a letter, at most 31 characters' };

export const text = (raw: string): string => raw;

/** One of a fixed set of words. */
export const oneOf =
  <T extends string>(...allowed: readonly T[]) =>
  (raw: string): T | { error: string } =>
    (allowed as readonly string[]).includes(raw) ? (raw as T) : { error: `must be one of ${allowed.join(', ')}` };

/** Words of example values (a compose file's, a README's): a secret containing one was never generated. */
const placeholders = [
  'change-me',
  'changeme',
  'change_me',
  'replace-me',
  'replaceme',
  'placeholder',
  'example',
  'your-secret',
  'your_secret',
  'insecure',
  'password',
];

/**
 * Bits of a secret by its own character frequencies (Shannon entropy × length): 24 × "a" has 0, a 24-character
 * random base64url string about 100. A floor, not a measure of how it was made.
 */
export const entropyBits = (raw: string): number => {
  const counts = new Map<string, number>();
  for (const char of raw) counts.set(char, (counts.get(char) ?? 0) + 1);
  const length = [...raw].length;
  let perChar = 0;
  for (const count of counts.values()) perChar -= (count / length) * Math.log2(count / length);
  return perChar * length;
};

/**
 * A secret that cannot be guessed: at least 24 characters without whitespace, none of the placeholder words
 * of example files, and at least 96 bits by entropyBits (e.g. `openssl rand -base64 32`).
 */
export const secret = (raw: string): string | { error: string } => {
  if (raw.length < 24 || /\s/.test(raw)) return { error: 'expected at least 24 characters without whitespace' };
  if (placeholders.some((word) => raw.toLowerCase().includes(word)))
    return { error: 'this is a placeholder from an example, not a secret: generate one (openssl rand -base64 32)' };
  if (entropyBits(raw) < 96)
    return { error: 'too predictable (repeated or few distinct characters): generate one (openssl rand -base64 32)' };
  return raw;
};

/**
 * Standard Webhooks signing secrets: one or more `whsec_<base64>` (at least 24 random bytes each), separated
 * by commas or spaces. Every one signs each delivery, so a receiver may move from an old secret to a new one
 * while both are listed (rotation), then the old one is removed.
 */
export const webhookSecrets = (raw: string): string[] | { error: string } => {
  const secrets = raw.split(/[\s,]+/).filter(Boolean);
  if (secrets.length === 0) return { error: 'expected one or more whsec_… secrets' };
  for (const secret of secrets) {
    const key = /^whsec_([A-Za-z0-9+/=_-]+)$/.exec(secret)?.[1];
    if (!key)
      return {
        error: 'each secret is whsec_ followed by base64 (Standard Webhooks), e.g. whsec_$(openssl rand -base64 32)',
      };
    if (Buffer.from(key, 'base64').length < 24)
      return { error: 'each secret holds at least 24 random bytes after whsec_' };
  }
  return secrets;
};

/** `scheme://user:password@host` → `scheme://user:***@host`, wherever it appears in a text. */
export const redactCredentials = (text: string): string =>
  text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi, '$1***@');
