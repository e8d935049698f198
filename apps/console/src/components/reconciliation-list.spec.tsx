import { describe, expect, it } from 'vitest';
import type { components } from '@tally/client/http';
import { render, texts } from '../test-render';
import { ReconciliationList } from './reconciliation-list';

type Summary = components['schemas']['ReconciliationSummary'];
const summary = (id: string, fields: Partial<Summary>): Summary => ({
  id,
  period: '2026-11',
  status: 'completed',
  requestedAt: '2026-12-01T00:00:00Z',
  completedAt: '2026-12-01T00:00:02Z',
  accounts: 2,
  subscriptions: 3,
  invoicesCompared: 1,
  groupsCompared: 4,
  driftCount: 0,
  ...fields,
});
const ids = ['0190c7a4-0000-7000-8000-000000000002', '0190c7a4-0000-7000-8000-000000000001'] as const;

describe('ReconciliationList', () => {
  it('lists each run with what it compared, its drift count marked when above 0, linking to its report', () => {
    const page = render(
      <ReconciliationList
        reconciliations={[summary(ids[0], { driftCount: 2 }), summary(ids[1], { driftCount: 0 })]}
        next={null}
        query={{}}
      />,
    );
    expect(texts(page, '[data-testid=drift-count]')).toEqual(['⚠ 2 drifts', '✓ no drift']);
    expect(page.querySelector('[data-testid=reconciliation-row] strong')?.textContent).toBe('⚠ 2 drifts');
    expect(texts(page, 'tbody td:nth-child(4)')).toEqual([
      '2 accounts, 3 subscriptions, 1 finalized invoice, 4 meter groups',
      '2 accounts, 3 subscriptions, 1 finalized invoice, 4 meter groups',
    ]);
    expect([...page.querySelectorAll('tbody th a')].map((a) => a.getAttribute('href'))).toEqual(
      ids.map((id) => `/reconciliations/${id}`),
    );
    expect(page.querySelector('nav.pages a')).toBeNull();
  });

  it('says why a run failed, and that one is running', () => {
    const page = render(
      <ReconciliationList
        reconciliations={[
          summary(ids[0], { status: 'running', completedAt: null, driftCount: null }),
          summary(ids[1], { status: 'failed', driftCount: null, error: 'the ledger could not be read' }),
        ]}
        next={null}
        query={{}}
      />,
    );
    expect(texts(page, 'tbody td:nth-child(4)')).toEqual(['comparing…', 'failed: the ledger could not be read']);
    expect(texts(page, '[data-testid=drift-count]')).toEqual(['—', '—']);
  });

  it('links the older page with the API’s next as `before`, and the newest when on an older one', () => {
    const page = render(
      <ReconciliationList
        reconciliations={[summary(ids[1], {})]}
        next={ids[1]}
        query={{ limit: '1', before: ids[0] }}
      />,
    );
    expect([...page.querySelectorAll('nav.pages a')].map((a) => [a.textContent, a.getAttribute('href')])).toEqual([
      ['Newest', '/reconciliations?limit=1'],
      ['Older', `/reconciliations?limit=1&before=${ids[1]}`],
    ]);
  });
});
