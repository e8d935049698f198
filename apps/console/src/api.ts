import { createTallyClient, type TallyHttpClient } from '@tally/client/http';
import { navigate, signInPath } from './router';
import { session } from './session';

/**
 * The typed client over the API at the console's own origin. Any 401 ends the session and returns to sign-in,
 * remembering where the user was.
 */
export const consoleClient = (token: string): TallyHttpClient =>
  createTallyClient({
    baseUrl: location.origin,
    token,
    fetch: async (request) => {
      const response = await fetch(request);
      if (response.status === 401 && location.pathname !== '/sign-in') {
        session.signOut();
        navigate(signInPath(location.pathname + location.search), { replace: true });
      }
      return response;
    },
  });

/** An answer the screen can show: the data, or why there is none. */
export type Loaded<T> =
  { state: 'loading' } | { state: 'ready'; data: T } | { state: 'refused'; status: number; detail: string };

/** openapi-fetch's answer as Loaded: a refusal keeps its status and the problem's detail. */
export const loaded = <T>(answer: { data?: T; error?: unknown; response: Response }): Loaded<T> => {
  if (answer.response.ok && answer.data !== undefined) return { state: 'ready', data: answer.data };
  const problem = answer.error as { detail?: string; title?: string } | undefined;
  return {
    state: 'refused',
    status: answer.response.status,
    detail: problem?.detail ?? problem?.title ?? answer.response.statusText,
  };
};
