import type { TallyHttpClient } from '@tally/client/http';
import { loaded } from '../api';
import { PlanList } from '../components/plan-list';
import { Pending } from '../components/notice';
import type { PageQuery } from '../router';
import { useLoaded } from '../use-loaded';

/**
 * The catalog: the plans (GET /v1/plans, a page at a time, the page in the address), each leading to its price
 * tables, and every live meter (GET /api/v1/meters) with what it reads and how it aggregates.
 */
export const CatalogScreen = ({ client, query }: { client: TallyHttpClient; query: PageQuery }) => {
  const meters = useLoaded('meters', async () => loaded(await client.GET('/api/v1/meters')));
  const plans = useLoaded(`plans:${query.limit ?? ''}:${query.after ?? ''}`, async () =>
    loaded(await client.GET('/v1/plans', { params: { query: { limit: query.limit, after: query.after } } })),
  );
  return (
    <>
      <h1>Catalog</h1>
      <section aria-labelledby="plans-heading">
        <h2 id="plans-heading">Plans</h2>
        {plans.state !== 'ready' ? (
          <Pending loaded={plans} what="the plans" />
        ) : (
          <PlanList plans={plans.data.plans} next={plans.data.next} query={query} />
        )}
      </section>
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
