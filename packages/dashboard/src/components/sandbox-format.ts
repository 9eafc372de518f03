import type { Sandbox } from '@runtools/sdk/api';

/**
 * How the sandbox pages write sizes, ages and resources: short, in words a reader scans, with
 * units spelled out where a screen reader would otherwise read a bare number.
 */

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `1536` → `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${value.toFixed(digits).replace(/\.0$/, '')} ${units[unit]}`;
}

/** How long ago `iso` was, as `42 s`, `5 min`, `3 h`, `2 d`. */
export function formatAge(iso: string, now: number = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.floor(hours / 24)} d`;
}

/** `2 CPU · 1 GiB memory · 4 GiB disk`. */
export function formatResources(resources: Sandbox['resources']): string {
  const parts = [
    `${resources.cpu} CPU`,
    `${formatBytes(resources.memoryMiB * 1024 * 1024)} memory`,
  ];
  if (resources.diskMiB !== null)
    parts.push(`${formatBytes(resources.diskMiB * 1024 * 1024)} disk`);
  return parts.join(' · ');
}

/** A sandbox's network in words: `no network`, `egress`, `egress to 10.0.0.0/8`. */
export function formatNetwork(network: Sandbox['network']): string {
  if (network.mode === 'none') return 'no network';
  if (network.allowOut === null) return 'egress';
  return `egress to ${network.allowOut.join(', ')}`;
}
