import { describe, expect, it } from 'vitest';
import { ConfigError } from './config';
import { loadTallyConfig } from './tally.config';

describe('Tally configuration', () => {
  it('applies defaults when nothing is set', () => {
    const config = loadTallyConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.TALLY_LATENESS_HORIZON_DAYS).toBe(35);
  });

  it('names every bad or missing variable at once', () => {
    const attempt = () =>
      loadTallyConfig({ PORT: '70000', DATABASE_URL: 'mysql://x', NATS_URL: 'nats://a:4222,http://b' }, [
        'KURRENTDB_URL',
      ]);
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toContain('PORT="70000" is invalid');
      expect(problems).toContain(
        'DATABASE_URL="mysql://x" is invalid: expected a URL with scheme postgres:// or postgresql://',
      );
      expect(problems).toContain('NATS_URL="nats://a:4222,http://b" is invalid: "http://b"');
      expect(problems).toContain('KURRENTDB_URL is required');
    }
  });

  it('never echoes a secret', () => {
    expect(() => loadTallyConfig({ TALLY_ADMIN_TOKEN: 'short secret' })).toThrow(
      'TALLY_ADMIN_TOKEN (value hidden) is invalid: expected at least 24 characters',
    );
    expect(() => loadTallyConfig({ TALLY_ADMIN_TOKEN: 'short secret' })).not.toThrow(/short secret/);
  });

  it.each([
    ['24 × "a"', 'a'.repeat(24)],
    ['the compose file placeholder', 'change-me-to-a-long-random-secret'],
    ['a repeated pattern', 'abcabcabcabcabcabcabcabc'],
    ['an example word', 'my-example-token-for-the-admin-api'],
  ])('refuses %s as a secret, without echoing it', (_what, value) => {
    expect(() => loadTallyConfig({ TALLY_ADMIN_TOKEN: value })).toThrow(
      /TALLY_ADMIN_TOKEN \(value hidden\) is invalid/,
    );
    expect(() => loadTallyConfig({ TALLY_ADMIN_TOKEN: value })).not.toThrow(value);
  });

  it('takes a generated secret', () =>
    expect(loadTallyConfig({ TALLY_ADMIN_TOKEN: 'q3X9vL2mP8rT5wY1zB7nC4kD6fG0hJ' }).TALLY_ADMIN_TOKEN).toBe(
      'q3X9vL2mP8rT5wY1zB7nC4kD6fG0hJ',
    ));

  it('never prints a password of a connection URL', () => {
    const attempt = () =>
      loadTallyConfig({
        DATABASE_URL: 'mysql://tally:s3cr3t-pw@db:5432/tally',
        NATS_URL: 'nats://app:n4ts-pw@nats:4222,http://x',
      });
    expect(attempt).toThrow(/DATABASE_URL="mysql:\/\/tally:\*\*\*@db:5432\/tally" is invalid/);
    expect(attempt).not.toThrow(/s3cr3t-pw|n4ts-pw/);
  });

  it('takes Standard Webhooks secrets, several while rotating, and refuses anything else', () => {
    expect(
      loadTallyConfig({
        TALLY_BUDGET_WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, whsec_7mY2pXqT4vB9nL3kR8sW1zC6dF0gH5jQ',
      }).TALLY_BUDGET_WEBHOOK_SECRET,
    ).toHaveLength(2);
    expect(() => loadTallyConfig({ TALLY_BUDGET_WEBHOOK_SECRET: 'webhook-secret-0123456789abcdef' })).toThrow(/whsec_/);
    expect(() => loadTallyConfig({ TALLY_INVOICE_WEBHOOK_SECRET: 'whsec_c2hvcnQ=' })).toThrow(
      /at least 24 random bytes/,
    );
  });

  it('refuses a namespace that cannot be a schema name', () =>
    expect(() => loadTallyConfig({ TALLY_NAMESPACE: 'Bad-Name' })).toThrow(/TALLY_NAMESPACE/));

  it('refuses a tenant id that could break stream names (`account-<tenant>_<id>`)', () => {
    expect(() => loadTallyConfig({ TALLY_TENANT: 'acme_eu' })).toThrow(/TALLY_TENANT.*separates tenant and id/s);
    expect(loadTallyConfig({ TALLY_TENANT: 'acmeeu2' }).TALLY_TENANT).toBe('acmeeu2');
  });
});
