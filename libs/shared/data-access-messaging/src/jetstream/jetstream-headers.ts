import { headers as natsHeaders, MsgHdrs } from '@nats-io/transport-node';

/** Plain header records ⇄ NATS headers. */
export const toNatsHeaders = (values: Record<string, string> | undefined): MsgHdrs => {
  const h = natsHeaders();
  for (const [key, value] of Object.entries(values ?? {})) h.set(key, value);
  return h;
};

export const fromNatsHeaders = (h: MsgHdrs | undefined): Record<string, string> => {
  const headers: Record<string, string> = {};
  for (const key of h?.keys() ?? []) headers[key] = h?.get(key) ?? '';
  return headers;
};
