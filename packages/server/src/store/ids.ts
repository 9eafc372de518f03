import { randomBytes } from 'node:crypto';

let lastMs = 0;
let sequence = 0;

/**
 * A new id such as `run_0mwvyo95q0000a1b2c3d4e5f6a7b8`: a prefix naming the kind, the creation
 * time in milliseconds (base 36, fixed width), a per-process sequence within that millisecond and
 * 48 random bits. Ids therefore sort by creation time (strictly, within one process), which lets
 * list pagination use the id itself as its cursor.
 */
export function newId(prefix: string): string {
  const ms = Math.max(Date.now(), lastMs);
  sequence = ms === lastMs ? sequence + 1 : 0;
  lastMs = ms;
  const time = ms.toString(36).padStart(9, '0');
  const seq = sequence.toString(36).padStart(4, '0');
  return `${prefix}_${time}${seq}${randomBytes(6).toString('hex')}`;
}

/** The current time as stored: ISO 8601 UTC, which sorts correctly as text. */
export function nowIso(offsetMs = 0): string {
  return new Date(Date.now() + offsetMs).toISOString();
}
