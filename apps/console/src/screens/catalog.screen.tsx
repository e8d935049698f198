import { useId, useState, type FormEvent } from 'react';
import type { TallyHttpClient } from '@tally/client/http';
import { loaded } from '../api';
import { Pending } from '../components/notice';
import { navigate, planPath } from '../router';
import { useLoaded } from '../use-loaded';

/**
 * The catalog: every live meter (GET /api/v1/meters) with what it reads and how it aggregates, and a way to a
 * plan's price tables. There is no plans list in the API yet: a plan is opened by its id.
 */
export const CatalogScreen = ({ client }: { client: TallyHttpClient }) => {
  const meters = useLoaded('meters', async () => loaded(await client.GET('/api/v1/meters')));
  return (
    <>
      <h1>Catalog</h1>
      <OpenPlan />
      <section aria-labelledby="meters-heading">
        <h2 id="meters-heading">Meters</h2>
        {meters.state !== 'ready' ? (
          <Pending loaded={meters} what="the meters" />
        ) : meters.data.length === 0 ? (
          <p>No meter yet (POST /api/v1/meters).</p>
        ) : (
          <table className="meters">
            <thead>
              <tr>
                <th scope="col">Meter</th>
                <th scope="col">Aggregation</th>
                <th scope="col">Event type</th>
                <th scope="col">Value</th>
                <th scope="col">Group by</th>
              </tr>
            </thead>
            <tbody>
              {meters.data.map((meter) => (
                <tr key={meter.slug} data-testid="meter" data-meter={meter.slug}>
                  <th scope="row">
                    {meter.name}
                    <div className="hint">
                      <code>{meter.slug}</code>
                    </div>
                  </th>
                  <td>{meter.aggregation}</td>
                  <td>
                    <code>{meter.eventType}</code>
                  </td>
                  <td className="wrap">
                    {meter.valueExpression ? (
                      <code>{meter.valueExpression}</code>
                    ) : meter.valueProperty ? (
                      <code>{meter.valueProperty}</code>
                    ) : (
                      'one per event'
                    )}
                  </td>
                  <td>
                    {Object.keys(meter.groupBy).length === 0
                      ? '—'
                      : Object.entries(meter.groupBy).map(([key, path]) => (
                          <div key={key}>
                            {key}: <code>{path}</code>
                          </div>
                        ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
};

const OpenPlan = () => {
  const [planId, setPlanId] = useState('');
  const inputId = useId();
  const open = (event: FormEvent) => {
    event.preventDefault();
    if (planId.trim()) navigate(planPath(planId.trim()));
  };
  return (
    <section aria-labelledby="plans-heading">
      <h2 id="plans-heading">Plans</h2>
      <form className="inline" onSubmit={open}>
        <label htmlFor={inputId}>Plan id</label>
        <input id={inputId} value={planId} onChange={(e) => setPlanId(e.target.value)} />
        <button type="submit">Open plan</button>
      </form>
      <p className="hint">An account’s page links the plans of its subscriptions.</p>
    </section>
  );
};
