import { usageLimits } from '@tally/contracts/usage';
import { badRequest } from '@tally/shared/feature-runtime';

/** One item or an array of 1 to usageLimits.batchEvents items; anything else is a 400 naming the problem. */
export const batchOf = (body: unknown, noun: 'event' | 'correction'): unknown[] => {
  if (body === undefined || body === null)
    throw badRequest(`the body must be a ${noun} or an array of ${noun}s`, [{ field: '', message: 'empty body' }]);
  const items = Array.isArray(body) ? body : [body];
  if (items.length === 0)
    throw badRequest('the batch is empty', [{ field: '', message: `at least one ${noun} is required` }]);
  if (items.length > usageLimits.batchEvents) {
    throw badRequest(
      `a batch holds at most ${usageLimits.batchEvents} ${noun}s`,
      [{ field: '', message: `${items.length} ${noun}s` }],
      'batch-too-large',
    );
  }
  return items;
};

export const countBy = <T extends { status: string }>(results: readonly T[], statuses: readonly T['status'][]) =>
  Object.fromEntries(statuses.map((status) => [status, results.filter((r) => r.status === status).length]));
