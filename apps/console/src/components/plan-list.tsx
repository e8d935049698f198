import type { components } from '@tally/client/http';
import { catalogPagePath, planPath, type PageQuery } from '../router';
import { Link } from './link';

type Plan = components['schemas']['Plan'];

/** The plans of a page, by id: each leads to its price tables (`/plans/<id>`); the page's links to the others. */
export const PlanList = ({ plans, next, query }: { plans: readonly Plan[]; next: string | null; query: PageQuery }) =>
  plans.length === 0 ? (
    <p>No plan yet (POST /v1/plans).</p>
  ) : (
    <>
      <table>
        <caption className="visually-hidden">Plans, by id</caption>
        <thead>
          <tr>
            <th scope="col">Plan</th>
            <th scope="col">Currency</th>
            <th scope="col" className="number">
              Versions
            </th>
            <th scope="col">Meters charged (latest version)</th>
          </tr>
        </thead>
        <tbody>
          {plans.map((plan) => {
            const latest = plan.versions.find((v) => v.version === plan.latestVersion) ?? plan.versions.at(-1);
            return (
              <tr key={plan.id} data-testid="plan-row" data-plan={plan.id}>
                <th scope="row">
                  <Link href={planPath(plan.id)}>{plan.name}</Link>
                  <div className="hint">
                    <code>{plan.id}</code>
                  </div>
                </th>
                <td>{plan.currency}</td>
                <td className="number">{plan.versions.length}</td>
                <td className="wrap">
                  {latest && latest.charges.length > 0
                    ? latest.charges.map((charge, i) => (
                        <span key={i}>
                          {i > 0 && ', '}
                          <code>{charge.meter}</code>
                        </span>
                      ))
                    : 'no charge'}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <nav aria-label="Pages of plans" className="pages">
        {query.after && <Link href={catalogPagePath({ limit: query.limit })}>First page</Link>}
        {next && <Link href={catalogPagePath({ limit: query.limit, after: next })}>Next page</Link>}
      </nav>
    </>
  );
