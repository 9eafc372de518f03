/**
 * Why an address is refused by default: what a request to it could reach that the outside
 * should not (the host itself, the operator's networks, a cloud's instance metadata).
 */
export type ForbiddenKind =
  | 'metadata'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'shared'
  | 'unique-local'
  | 'unspecified'
  | 'multicast'
  | 'reserved';

/**
 * Cloud instance-metadata services: credentials for the machine's role live behind them. Refused
 * even inside an allowed range unless the operator allows the address itself (a /32 or /128).
 */
export const metadataAddresses: readonly string[] = [
  '169.254.169.254', // AWS, GCP, Azure, OpenStack, Oracle
  '100.100.100.200', // Alibaba Cloud
  '168.63.129.16', // Azure wire server (a public address)
  'fd00:ec2::254', // AWS over IPv6
];

/**
 * The ranges outbound requests (webhooks, custom model endpoints) refuse unless the operator
 * allows them. IPv4-mapped IPv6 forms (`::ffff:127.0.0.1`) match their IPv4 range, as
 * `node:net`'s BlockList compares them; IPv4-compatible and NAT64 forms are unwrapped by the policy.
 */
export const forbiddenRanges: ReadonlyArray<{ cidr: string; kind: ForbiddenKind }> = [
  { cidr: '0.0.0.0/8', kind: 'unspecified' }, // "this network": 0.0.0.0 reaches the host itself
  { cidr: '127.0.0.0/8', kind: 'loopback' },
  { cidr: '10.0.0.0/8', kind: 'private' },
  { cidr: '172.16.0.0/12', kind: 'private' },
  { cidr: '192.168.0.0/16', kind: 'private' },
  { cidr: '169.254.0.0/16', kind: 'link-local' },
  { cidr: '100.64.0.0/10', kind: 'shared' }, // carrier-grade NAT, and some clouds' internal services
  { cidr: '192.0.0.0/24', kind: 'reserved' }, // IETF protocol assignments
  { cidr: '198.18.0.0/15', kind: 'reserved' }, // benchmarking, used inside some networks
  { cidr: '224.0.0.0/4', kind: 'multicast' },
  { cidr: '240.0.0.0/4', kind: 'reserved' }, // including the broadcast 255.255.255.255
  { cidr: '::/128', kind: 'unspecified' },
  { cidr: '::1/128', kind: 'loopback' },
  { cidr: 'fe80::/10', kind: 'link-local' },
  { cidr: 'fec0::/10', kind: 'private' }, // the deprecated site-local range
  { cidr: 'fc00::/7', kind: 'unique-local' },
  { cidr: 'ff00::/8', kind: 'multicast' },
];

/** Loopback, as `runtools dev` allows it for webhooks and model endpoints. */
export const loopbackRanges: readonly string[] = ['127.0.0.0/8', '::1/128'];
