import { describe, expect, it } from 'vitest';
import { DomainError, refusals } from './decider';

describe('refusals: a context owns its codes and their kinds', () => {
  const billing = refusals({ invoice_not_draft: 'conflict', unknown_invoice: 'not-found' });

  it('throws a DomainError carrying the code, the field and the kind the edge answers by', () => {
    expect(() => billing.refuse('invoice_not_draft', 'only a draft', 'id')).toThrow(
      expect.objectContaining({ code: 'invoice_not_draft', kind: 'conflict', field: 'id', message: 'only a draft' }),
    );
    expect(() => billing.refuse('unknown_invoice', 'no invoice')).toThrow(DomainError);
  });

  it('recognises its own refusals', () => {
    const caught = (() => {
      try {
        return billing.refuse('unknown_invoice', 'no invoice');
      } catch (error) {
        return error;
      }
    })();
    expect(billing.is(caught, 'unknown_invoice')).toBe(true);
    expect(billing.is(caught, 'invoice_not_draft')).toBe(false);
    expect(billing.is(new Error('x'), 'unknown_invoice')).toBe(false);
  });

  it('does not compile a code the context does not own (checked by npm run typecheck)', () => {
    // @ts-expect-error — not one of this context's codes (a typo, or another context's)
    expect(() => billing.refuse('plan_exists', 'x')).toThrow(DomainError);
  });
});
