import type { TallyHttpClient } from '@tally/client/http';
import { loaded } from '../api';
import { Pending } from '../components/notice';
import { formatInstant } from '../format';
import { useLoaded } from '../use-loaded';

/** Why usage is parked, and what attributes it (docs/attribution.md): the registry change that moves it to an account. */
export const parkedFixes: Record<string, { reason: string; fix: string }> = {
  unknown_subject: {
    reason: 'No account owns this subject',
    fix: 'Assign the subject to its account (PUT /v1/subjects/{subject}, effectiveFrom at or before the event): the usage moves there.',
  },
  no_owner_at_time: {
    reason: 'The subject had no owner at the event’s time',
    fix: 'Assign it from an earlier instant, or correct its history (POST /v1/subjects/{subject}/corrections).',
  },
  no_subscription: {
    reason: 'Its account had no subscription running at the event’s time',
    fix: 'Start (or reschedule) a subscription that covers the event’s time (POST /v1/subscriptions).',
  },
};

/**
 * Usage kept in the ledger but not counted yet, oldest first, with each reason and what fixes it; asked again every
 * few seconds, so a fix shows its effect here (the usage leaves the list once attributed).
 */
export const ParkedScreen = ({ client }: { client: TallyHttpClient }) => {
  const parked = useLoaded(
    'parked',
    async () => loaded(await client.GET('/v1/parked-usage', { params: { query: { limit: '100' } } })),
    { refreshMs: 5_000 },
  );
  return (
    <>
      <h1>Parked usage</h1>
      <p className="hint">
        Usage of a subject no account owned at the event’s time: kept, not lost, and counted for its account as soon as
        the registry says whose it is.
      </p>
      {parked.state !== 'ready' ? (
        <Pending loaded={parked} what="the parked usage" />
      ) : parked.data.items.length === 0 ? (
        <p role="status">Nothing is parked: every usage event is attributed.</p>
      ) : (
        <table>
          <caption className="visually-hidden">Parked usage events, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Subject</th>
              <th scope="col">Time</th>
              <th scope="col">Why, and what fixes it</th>
            </tr>
          </thead>
          <tbody>
            {parked.data.items.map((item) => {
              const known = item.reason ? parkedFixes[item.reason] : undefined;
              return (
                <tr key={item.usageId} data-testid="parked-event">
                  <td>
                    <code>{item.eventType}</code>
                    <br />
                    <small>
                      {item.source} · {item.eventId}
                    </small>
                  </td>
                  <td>
                    <code>{item.subject}</code>
                  </td>
                  <td>{formatInstant(item.time, 'UTC')}</td>
                  <td>
                    <strong data-testid="parked-reason">{known?.reason ?? item.reason ?? 'parked'}</strong>
                    <br />
                    {known?.fix}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </>
  );
};
