import { useId, useState, type FormEvent } from 'react';
import type { TallyHttpClient } from '@tally/client/http';
import { loaded } from '../api';
import { Link } from '../components/link';
import { Pending } from '../components/notice';
import { formatInstant } from '../format';
import { accountPath, eventPath, navigate } from '../router';
import { useLoaded } from '../use-loaded';
import { parkedFixes } from './parked.screen';

/** The steps of an event's life, in order, as the status answers them (timestamps name them). */
const steps = [
  ['acceptedAt', 'Accepted (stored in the stream)'],
  ['rejectedAt', 'Rejected at intake'],
  ['recordedAt', 'Recorded in the ledger'],
  ['parkedAt', 'Parked (no account yet)'],
  ['attributedAt', 'Attributed to its account'],
  ['amendedAt', 'Amended'],
  ['voidedAt', 'Voided'],
] as const;

/**
 * An event's lifecycle by (source, id), both in the address (`/events?source=…&id=…`), so a lookup can be
 * bookmarked and shared: accepted → recorded → attributed or parked → amended / voided, with when each happened.
 */
export const EventScreen = ({ client, source, id }: { client: TallyHttpClient; source?: string; id?: string }) => (
  <>
    <h1>Event lookup</h1>
    <LookupForm source={source} id={id} />
    {source && id && <EventStatus client={client} source={source} id={id} />}
  </>
);

const LookupForm = ({ source = '', id = '' }: { source?: string; id?: string }) => {
  const [asked, setAsked] = useState({ source, id });
  const sourceId = useId();
  const idId = useId();
  const lookUp = (event: FormEvent) => {
    event.preventDefault();
    if (asked.source.trim() && asked.id.trim()) navigate(eventPath(asked.source.trim(), asked.id.trim()));
  };
  return (
    <form className="inline" onSubmit={lookUp}>
      <label htmlFor={sourceId}>Source</label>
      <input id={sourceId} value={asked.source} onChange={(e) => setAsked({ ...asked, source: e.target.value })} />
      <label htmlFor={idId}>Event id</label>
      <input id={idId} value={asked.id} onChange={(e) => setAsked({ ...asked, id: e.target.value })} />
      <button type="submit">Look up</button>
    </form>
  );
};

const EventStatus = ({ client, source, id }: { client: TallyHttpClient; source: string; id: string }) => {
  const status = useLoaded(`event:${source}\u0000${id}`, async () =>
    loaded(await client.GET('/v1/events/status', { params: { query: { source, id } } })),
  );
  if (status.state !== 'ready') return <Pending loaded={status} what="the event" />;
  const event = status.data;
  const fix = event.parkedReason ? parkedFixes[event.parkedReason] : undefined;
  return (
    <section aria-labelledby="event-heading">
      <h2 id="event-heading">
        <code>{id}</code> from <code>{source}</code>: <span data-testid="event-status">{event.status}</span>
      </h2>
      {event.accountId && (
        <p>
          Counted for account <Link href={accountPath(event.accountId)}>{event.accountId}</Link>.
        </p>
      )}
      {fix && (
        <p data-testid="event-parked">
          <strong>{fix.reason}.</strong> {fix.fix}
        </p>
      )}
      {event.rejection && (
        <ul>
          {event.rejection.map((e) => (
            <li key={`${e.field}:${e.message}`}>
              <code>{e.field}</code>: {e.message}
            </li>
          ))}
        </ul>
      )}
      {event.voidReason && <p>Voided: {event.voidReason}</p>}
      {event.amendReason && <p>Amended: {event.amendReason}</p>}
      <ol className="timeline" aria-label="What happened, in order">
        {steps
          .filter(([key]) => event.timestamps[key])
          .map(([key, label]) => (
            <li key={key}>
              {label} — {formatInstant(event.timestamps[key] as string, 'UTC')}
            </li>
          ))}
      </ol>
    </section>
  );
};
