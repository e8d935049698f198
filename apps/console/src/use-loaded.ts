import { useEffect, useState } from 'react';
import type { Loaded } from './api';

/**
 * Runs a request when its key changes and holds the answer; a newer key discards an older answer. With
 * `refreshMs`, asks again that often while the screen is shown (live usage): the last answer stays on screen while
 * the next one is asked, a refusal replaces it (a 401 has already returned to sign-in), a request never overlaps
 * the one before; with `refreshWhile`, only while it says so.
 */
export const useLoaded = <T>(
  key: string,
  load: () => Promise<Loaded<T>>,
  options: { refreshMs?: number; refreshWhile?: (loaded: Loaded<T>) => boolean } = {},
): Loaded<T> => {
  const [value, setValue] = useState<{ key: string; loaded: Loaded<T> }>({ key, loaded: { state: 'loading' } });
  useEffect(() => {
    let current = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ask = () =>
      load()
        .catch((error: unknown): Loaded<T> => ({
          state: 'refused',
          status: 0,
          detail: `Tally did not answer: ${String(error)}`,
        }))
        .then((loaded) => {
          if (!current) return;
          setValue({ key, loaded });
          // `refreshWhile`: stop asking once the answer cannot change any more (a completed report).
          if (options.refreshMs && (options.refreshWhile?.(loaded) ?? true)) timer = setTimeout(ask, options.refreshMs);
        });
    setValue({ key, loaded: { state: 'loading' } });
    void ask();
    return () => {
      current = false;
      clearTimeout(timer);
    };
    // The key names the request (load is a new function on every render).
  }, [key, options.refreshMs]);
  return value.key === key ? value.loaded : { state: 'loading' };
};
