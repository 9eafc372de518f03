import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseListeningPorts } from './listening-ports.ts';

const head4 =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const head6 =
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const rest =
  '00000000:00000000 00:00000000 00000000     0        0 7340330 1 0000000054964c6b 100 0';

describe('parseListeningPorts', () => {
  it('lists listening sockets of both families by port, with their addresses', () => {
    const tcp = [
      head4,
      `   0: 00000000:1FBB 00000000:0000 0A ${rest}`,
      `   1: 0100007F:0BB8 00000000:0000 0A ${rest}`,
      // An established connection from 127.0.0.1:3000 is not a listening port.
      `   2: 0100007F:0BB8 0100007F:D431 01 ${rest}`,
      '',
    ].join('\n');
    const tcp6 = [
      head6,
      `   0: 00000000000000000000000000000000:1FBB 00000000000000000000000000000000:0000 0A ${rest}`,
      `   1: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A ${rest}`,
      `   2: 0000000000000000FFFF00000100007F:0050 00000000000000000000000000000000:0000 0A ${rest}`,
      '',
    ].join('\n');
    assert.deepEqual(parseListeningPorts(tcp, tcp6), [
      { port: 80, addresses: ['::ffff:7f00:1'] },
      { port: 3000, addresses: ['127.0.0.1'] },
      { port: 8080, addresses: ['::1'] },
      { port: 8123, addresses: ['0.0.0.0', '::'] },
    ]);
  });

  it('is empty for tables with no listening socket, and skips lines it cannot read', () => {
    assert.deepEqual(parseListeningPorts(`${head4}\n`, `${head6}\n`), []);
    assert.deepEqual(
      parseListeningPorts(
        `${head4}\n   0: nonsense 0A\n   1: 00000000:0000 00000000:0000 0A\n`,
        '',
      ),
      [],
    );
  });
});
