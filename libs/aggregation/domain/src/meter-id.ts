import { createHash } from 'node:crypto';
import { ulid } from 'ulid';

/** OpenMeter's id pattern: a ULID (Crockford base32, 26 characters, time first). */
export const meterIdPattern = /^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$/;

/**
 * A meter's id: a ULID whose time is the meter's creation and whose 80 other bits come from (tenant, slug,
 * createdAt). Derived rather than drawn so that meters created before ids were kept get the same id on every
 * read and every replay; a slug deleted and created again is another meter, with another id.
 */
export const meterIdOf = (tenant: string, slug: string, createdAt: string): string => {
  const time = Date.parse(createdAt);
  // ulid() would take the clock for an unreadable time: an id must never depend on when it is read.
  if (!Number.isFinite(time) || time <= 0) throw new Error(`a meter's creation time is not an instant: ${createdAt}`);
  const instant = new Date(time).toISOString(); // one text per instant, however the event wrote it
  const digest = createHash('sha256').update(`${tenant}\u0000${slug}\u0000${instant}`).digest();
  let next = 0;
  return ulid(time, () => digest[next++] / 256);
};
