import { useEffect, useState } from 'react';
import type { Loaded } from './api';

/** Runs a request when its key changes and holds the answer; a newer key discards an older answer. */
export const useLoaded = <T>(key: string, load: () => Promise<Loaded<T>>): Loaded<T> => {
  const [value, setValue] = useState<{ key: string; loaded: Loaded<T> }>({ key, loaded: { state: 'loading' } });
  useEffect(() => {
    let current = true;
    setValue({ key, loaded: { state: 'loading' } });
    load().then(
      (loaded) => current && setValue({ key, loaded }),
      (error: unknown) =>
        current &&
        setValue({ key, loaded: { state: 'refused', status: 0, detail: `Tally did not answer: ${String(error)}` } }),
    );
    return () => {
      current = false;
    };
    // The key names the request (load is a new function on every render).
  }, [key]);
  return value.key === key ? value.loaded : { state: 'loading' };
};
