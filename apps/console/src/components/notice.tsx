import type { Loaded } from '../api';

/** What a screen shows while its answer is on the way, or when Tally refused it. */
export const Pending = ({ loaded, what }: { loaded: Exclude<Loaded<unknown>, { state: 'ready' }>; what: string }) =>
  loaded.state === 'loading' ? (
    <p role="status">Loading {what}…</p>
  ) : (
    <p role="alert" className="refusal">
      Could not load {what}: {loaded.detail}
      {loaded.status ? ` (HTTP ${loaded.status})` : ''}
    </p>
  );
