import { describe, expect, it } from 'vitest';
import { ConfigError } from './config';
import { archiveAgeWarning, archiveSettings, loadTallyConfig } from './tally.config';

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

  describe('the archive', () => {
    const postgres = { DATABASE_URL: 'postgres://tally@db:5432/tally' };
    const s3 = {
      TALLY_ARCHIVE: 's3',
      TALLY_ARCHIVE_S3_ENDPOINT: 'http://minio:9000',
      TALLY_ARCHIVE_S3_BUCKET: 'archive',
      TALLY_ARCHIVE_S3_ACCESS_KEY_ID: 'tally',
      TALLY_ARCHIVE_S3_SECRET_ACCESS_KEY: 'a-secret-key',
    };

    it('is on, in TALLY_DATA_DIR/archive, in embedded mode, and off with a Postgres of the operator’s', () => {
      expect(archiveSettings(loadTallyConfig({ TALLY_DATA_DIR: '/var/tally/' }))).toMatchObject({
        store: 'filesystem',
        dir: '/var/tally/archive',
      });
      expect(archiveSettings(loadTallyConfig(postgres))).toEqual({ store: 'off' });
      expect(
        archiveSettings(loadTallyConfig({ ...postgres, TALLY_ARCHIVE: 'filesystem', TALLY_ARCHIVE_DIR: '/a' })),
      ).toMatchObject({ store: 'filesystem', dir: '/a' });
    });

    it.each([
      // 35 days of lateness + 24 h of grace (1 day) + 7 days of margin
      [{}, 43],
      // 25 h of grace round up to 2 days: 35 + 2 + 7
      [{ TALLY_INVOICE_GRACE_HOURS: '25' }, 44],
      [{ TALLY_LATENESS_HORIZON_DAYS: '10', TALLY_INVOICE_GRACE_HOURS: '48' }, 19],
      [{ TALLY_ARCHIVE_AFTER_DAYS: '0' }, 0],
      [{ TALLY_ARCHIVE_AFTER_DAYS: '0.5' }, 0.5],
    ])('seals rows recorded more than the age of %j ago: %d days', (env, days) =>
      expect(archiveSettings(loadTallyConfig({ TALLY_ARCHIVE: 'filesystem', ...env }))).toMatchObject({
        afterDays: days,
        intervalMs: 3_600_000,
        prune: false,
        pruneMinAgeMs: 3_600_000,
      }),
    );

    it('refuses to prune files sealed less than 2 s ago: readers trust the manifest for 1 s', () => {
      expect(() => loadTallyConfig({ TALLY_ARCHIVE_PRUNE_MIN_AGE_SECONDS: '1' })).toThrow(
        /TALLY_ARCHIVE_PRUNE_MIN_AGE_SECONDS="1" is invalid: expected at least 2/,
      );
      expect(archiveSettings(loadTallyConfig({ TALLY_ARCHIVE_PRUNE_MIN_AGE_SECONDS: '2' }))).toMatchObject({
        pruneMinAgeMs: 2_000,
      });
    });

    it('refuses a negative or wordy age', () => {
      expect(() => loadTallyConfig({ TALLY_ARCHIVE_AFTER_DAYS: '-1' })).toThrow(
        /TALLY_ARCHIVE_AFTER_DAYS="-1" is invalid/,
      );
      expect(() => loadTallyConfig({ TALLY_ARCHIVE_AFTER_DAYS: 'ten' })).toThrow(/TALLY_ARCHIVE_AFTER_DAYS/);
    });

    it('warns below the lateness horizon + grace, and says nothing at or above it', () => {
      expect(archiveAgeWarning(loadTallyConfig({ TALLY_ARCHIVE_AFTER_DAYS: '35.5' }))).toMatch(
        /TALLY_ARCHIVE_AFTER_DAYS=35.5 is below the lateness horizon \+ invoice grace \(36 days\)/,
      );
      expect(archiveAgeWarning(loadTallyConfig({ TALLY_ARCHIVE_AFTER_DAYS: '36' }))).toBeUndefined();
      expect(archiveAgeWarning(loadTallyConfig({ ...postgres, TALLY_ARCHIVE_AFTER_DAYS: '0' }))).toBeUndefined();
    });

    it('takes S3 with its endpoint, bucket and credentials, the namespace as prefix unless one is given', () => {
      expect(archiveSettings(loadTallyConfig({ ...postgres, ...s3, TALLY_NAMESPACE: 'acme' }))).toMatchObject({
        store: 's3',
        s3: { endpoint: 'http://minio:9000', bucket: 'archive', prefix: 'acme', region: 'us-east-1' },
      });
      expect(archiveSettings(loadTallyConfig({ ...s3, TALLY_ARCHIVE_S3_PREFIX: 'p' }))).toMatchObject({
        s3: { prefix: 'p' },
      });
    });

    it.each([
      'TALLY_ARCHIVE_S3_ENDPOINT',
      'TALLY_ARCHIVE_S3_BUCKET',
      'TALLY_ARCHIVE_S3_ACCESS_KEY_ID',
      'TALLY_ARCHIVE_S3_SECRET_ACCESS_KEY',
    ])('refuses S3 without %s, naming it', (missing) =>
      expect(() => loadTallyConfig({ ...s3, [missing]: undefined })).toThrow(
        new RegExp(`${missing} is required with TALLY_ARCHIVE=s3`),
      ),
    );

    it('never echoes the S3 secret', () =>
      expect(() =>
        loadTallyConfig({ ...s3, TALLY_ARCHIVE_S3_SECRET_ACCESS_KEY: 'x', TALLY_ARCHIVE: 'tape' }),
      ).not.toThrow(/a-secret-key/));

    it('refuses an archive beside a KurrentDB ledger, and is off with one by default', () => {
      const kurrent = { KURRENTDB_URL: 'kurrentdb://k:2113' };
      expect(() => loadTallyConfig({ ...kurrent, TALLY_ARCHIVE: 'filesystem' })).toThrow(
        /TALLY_ARCHIVE=filesystem needs the Postgres ledger: with KURRENTDB_URL/,
      );
      expect(archiveSettings(loadTallyConfig(kurrent))).toEqual({ store: 'off' });
    });
  });
});
