import type { TallyHttpClient } from '@tally/client/http';
import { loaded } from '../api';
import { Pending } from '../components/notice';
import { PriceTable } from '../components/price-table';
import { formatInstant } from '../format';
import { useLoaded } from '../use-loaded';

/** A plan (`/plans/<id>`, GET /v1/plans/{id}): each version, newest first, with each charge as its price table. */
export const PlanScreen = ({ client, planId }: { client: TallyHttpClient; planId: string }) => {
  const plan = useLoaded(`plan:${planId}`, async () =>
    loaded(await client.GET('/v1/plans/{id}', { params: { path: { id: planId } } })),
  );
  if (plan.state !== 'ready')
    return (
      <>
        <h1>Plan {planId}</h1>
        <Pending loaded={plan} what="the plan" />
      </>
    );
  const { name, currency, versions } = plan.data;
  return (
    <>
      <h1>{name}</h1>
      <p>
        Plan <code>{planId}</code>, prices in {currency}, {versions.length} version{versions.length === 1 ? '' : 's'}.
      </p>
      {[...versions].reverse().map((version) => (
        <section key={version.version} aria-labelledby={`version-${version.version}`} data-testid="plan-version">
          <h2 id={`version-${version.version}`}>
            Version {version.version} · in force{' '}
            {version.effectiveFrom ? `from ${formatInstant(version.effectiveFrom, 'UTC')}` : 'from the beginning'}
          </h2>
          {version.charges.length === 0 ? (
            <p>No charge: nothing is billed.</p>
          ) : (
            <div className="price-tables">
              {version.charges.map((charge) => (
                <PriceTable key={`${charge.meter}:${charge.per}`} charge={charge} currency={currency} />
              ))}
            </div>
          )}
        </section>
      ))}
    </>
  );
};
