/**
 * The message of anything thrown, for a log line or a problem's detail: an Error's message, or the value
 * itself as text (drivers and libraries do throw strings and plain objects).
 */
export const messageOf = (error: unknown): string => {
  if (error instanceof Error) return error.message;
  const message = (error as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : String(error);
};
