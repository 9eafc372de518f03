/** A TCP port something listens on inside a sandbox, and the addresses it is bound to. */
export interface ListeningPort {
  port: number;
  /** e.g. `0.0.0.0`, `127.0.0.1`, `::`; the proxy reaches a port through 127.0.0.1 inside. */
  addresses: string[];
}

/** The `st` column of /proc/net/tcp{,6} for a listening socket (TCP_LISTEN). */
const listenState = '0A';

/**
 * The listening sockets of `/proc/net/tcp` and `/proc/net/tcp6` (as read inside the sandbox's
 * network namespace), one entry per port, in port order. Each line's `local_address` is the
 * address as hex 32-bit words in host (little-endian) order, then `:` and the port in hex.
 *
 * @example
 * parseListeningPorts('  sl  local_address ...\n   0: 00000000:1F40 00000000:0000 0A ...', '')
 * // → [{ port: 8000, addresses: ['0.0.0.0'] }]
 */
export function parseListeningPorts(tcp: string, tcp6: string): ListeningPort[] {
  const ports = new Map<number, Set<string>>();
  for (const [text, family] of [
    [tcp, 4],
    [tcp6, 6],
  ] as const) {
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (fields[3] !== listenState || local === undefined) continue;
      const [hexAddress, hexPort] = local.split(':');
      if (hexAddress === undefined || hexPort === undefined) continue;
      const port = Number.parseInt(hexPort, 16);
      const address = family === 4 ? ipv4(hexAddress) : ipv6(hexAddress);
      if (!Number.isInteger(port) || port < 1 || address === undefined) continue;
      let addresses = ports.get(port);
      if (addresses === undefined) {
        addresses = new Set();
        ports.set(port, addresses);
      }
      addresses.add(address);
    }
  }
  return [...ports]
    .sort(([a], [b]) => a - b)
    .map(([port, addresses]) => ({ port, addresses: [...addresses] }));
}

/** The bytes of one little-endian 32-bit hex word, in memory (network) order. */
function wordBytes(hex: string): number[] {
  const value = Number.parseInt(hex, 16);
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

function ipv4(hex: string): string | undefined {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return undefined;
  return wordBytes(hex).join('.');
}

function ipv6(hex: string): string | undefined {
  if (!/^[0-9A-Fa-f]{32}$/.test(hex)) return undefined;
  const bytes = [0, 8, 16, 24].flatMap((i) => wordBytes(hex.slice(i, i + 8)));
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16));
  }
  // The URL parser writes an IPv6 address in its canonical short form (`::`, `::1`, `::ffff:…`).
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}
