import type { components } from '@tally/client/http';
import { formatInstant } from '../format';

type Projection = components['schemas']['ProjectionStatus'];

/** One row per projection: status, events behind the ledger, and how fresh its last batch was. */
export const ProjectionsTable = ({ projections }: { projections: readonly Projection[] }) =>
  projections.length === 0 ? (
    <p>No projection runs in this process.</p>
  ) : (
    <table>
      <thead>
        <tr>
          <th scope="col">Projection</th>
          <th scope="col">Status</th>
          <th scope="col" className="number">
            Events behind
          </th>
          <th scope="col" className="number">
            Accepted → visible
          </th>
          <th scope="col">Last applied</th>
        </tr>
      </thead>
      <tbody>
        {projections.map((p) => (
          <tr key={p.name}>
            <th scope="row">
              <code>{p.name}</code>
            </th>
            <td>
              <span className={`status status-${p.status}`}>{p.status}</span>
              {p.rebuilding && ' (rebuilding)'}
              {p.lastError && <div className="refusal">{p.lastError}</div>}
            </td>
            <td className="number">{p.behind >= 10_000 ? '≥ 10,000' : p.behind.toLocaleString()}</td>
            <td className="number">
              {p.acceptedToVisibleMs === null ? '—' : `${p.acceptedToVisibleMs.toLocaleString()} ms`}
            </td>
            <td>{p.lastAppliedAt ? formatInstant(p.lastAppliedAt) : '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
