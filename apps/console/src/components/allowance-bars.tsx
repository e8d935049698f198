import type { AllowanceUse } from '../allowances';
import { formatQuantity } from '../format';

/**
 * Forge's free-tier bars: each charge's allowance per app and how much of it this period used. A bar is a
 * progressbar (its value the share used, at most 100) with its words beside it; past the allowance it says
 * "exceeded" and is marked, not only coloured.
 */
export const AllowanceBars = ({
  uses,
  meterNames,
  locale,
}: {
  uses: readonly AllowanceUse[];
  meterNames: ReadonlyMap<string, string>;
  locale?: string;
}) => {
  if (uses.length === 0) return <p>No charge of this period has a free allowance.</p>;
  return (
    <ul className="allowances">
      {uses.map((use) => {
        const name = meterNames.get(use.meter) ?? use.meter;
        const label = `${formatQuantity(use.used, locale)} of ${formatQuantity(use.allowance, locale)} free used`;
        // A per-app charge no app has used yet has a line without a group.
        const whose = use.perValue ?? (use.per ? `no ${use.per} yet` : 'the whole subscription');
        const id = `allowance-${use.meter}-${use.perValue ?? ''}-${use.planVersion}`.replace(/[^\w-]/g, '_');
        return (
          <li
            key={id}
            data-testid="allowance"
            data-meter={use.meter}
            data-app={use.perValue ?? ''}
            className={use.exceeded ? 'exceeded' : undefined}
          >
            <div className="allowance-head">
              <span id={id}>
                {name} · {whose}
              </span>
              <span data-testid="allowance-text">
                {label}
                {use.exceeded && (
                  <strong className="over" data-testid="allowance-exceeded">
                    {' '}
                    ⚠ exceeded ({use.percent} %)
                  </strong>
                )}
              </span>
            </div>
            <div
              className="bar"
              role="progressbar"
              aria-labelledby={id}
              aria-valuemin={0}
              aria-valuemax={100}
              // A picture of the share: the exact numbers are in the words.
              aria-valuenow={Math.min(100, Number(use.percent))}
              aria-valuetext={`${label}${use.exceeded ? ', exceeded' : ''}`}
            >
              <span style={{ width: `${Math.min(100, Number(use.percent))}%` }} />
            </div>
          </li>
        );
      })}
    </ul>
  );
};
