import type { FieldError } from '@tally/shared/util-core';
/**
 * Producer API keys: each is scoped to one tenant and a list of allowed CloudEvents sources.
 * A pattern is an exact source, or a prefix ending in `*` (`//fn-runtime/*`); `*` alone allows any source.
 */
export const sourceAllowed = (patterns: readonly string[], source: string): boolean =>
  patterns.some((pattern) => (pattern.endsWith('*') ? source.startsWith(pattern.slice(0, -1)) : source === pattern));

export interface ApiKeyRequest {
  name: string;
  allowedSources: string[];
}

export const validateApiKeyRequest = (
  input: unknown,
): { ok: true; value: ApiKeyRequest } | { ok: false; errors: FieldError[] } => {
  const errors: FieldError[] = [];
  const body = (typeof input === 'object' && input !== null && !Array.isArray(input) ? input : {}) as Record<
    string,
    unknown
  >;
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    errors.push({ field: '', message: 'the body must be a JSON object' });
  const name = body.name;
  if (typeof name !== 'string' || name.trim() === '' || name.length > 128)
    errors.push({ field: 'name', message: 'name is required: 1–128 characters' });
  const sources = body.allowedSources;
  if (!Array.isArray(sources) || sources.length === 0 || sources.length > 100)
    errors.push({ field: 'allowedSources', message: 'allowedSources is required: 1–100 source patterns' });
  else
    sources.forEach((pattern, i) => {
      if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > 512)
        errors.push({ field: `allowedSources[${i}]`, message: 'a source pattern is a string of 1–512 characters' });
      else if (pattern.indexOf('*') !== -1 && pattern.indexOf('*') !== pattern.length - 1)
        errors.push({ field: `allowedSources[${i}]`, message: "'*' may only end a pattern" });
    });
  return errors.length > 0
    ? { ok: false, errors }
    : { ok: true, value: { name: (name as string).trim(), allowedSources: sources as string[] } };
};
