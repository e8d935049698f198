import { describe, expect, it } from 'vitest';
import { usageLedgerId } from '@tally/contracts/usage';
import { ledgerIdOf } from './ledger-ids';

describe('ledgerIdOf', () => {
  it.each([
    { tenant: 'default', source: '//fn-runtime/eu-1', id: 'inv-7f3a' },
    // length prefixes: ('ab', 'c') and ('a', 'bc') stay apart
    { tenant: 't1', source: 'ab', id: 'c' },
    { tenant: 't1', source: 'a', id: 'bc' },
    // UTF-16 lengths in the prefix, UTF-8 bytes hashed
    { tenant: 'acme', source: '//kv/zürich', id: 'événement-😀' },
    { tenant: 'acme', source: 's'.repeat(512), id: 'i'.repeat(256) },
  ])('is usageLedgerId for ($source, $id)', ({ tenant, source, id }) =>
    expect(ledgerIdOf(tenant, source, id)).toBe(usageLedgerId(tenant, source, id)),
  );

  it('is usageLedgerId for every version and variant digit', () => {
    // 2,000 ids cover every hex digit at the version and variant positions many times over.
    for (let i = 0; i < 2_000; i++)
      expect(ledgerIdOf('default', '//bench/fn-runtime', `r${i}-e${i % 7}`)).toBe(
        usageLedgerId('default', '//bench/fn-runtime', `r${i}-e${i % 7}`),
      );
  });
});
