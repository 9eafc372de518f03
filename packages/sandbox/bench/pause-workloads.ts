/**
 * Workloads the pause benchmarks run in a sandbox before timing pause/resume: the same ones
 * whether driven through the engine (`bench:sandbox`) or the HTTP API (`bench:sandbox-api`).
 */
export interface PauseWorkload {
  /** Name in the results. */
  name: string;
  template: string;
  /** A shell script run to completion first (starting daemons, loading data). */
  setup?: string;
  /** Started in the background (spawn / exec with `background`), kept running. */
  server?: string[];
  /** A shell script that succeeds once the workload serves; run after each resume, untimed. */
  ready: string;
  what: string;
}

const NODE_SERVER =
  'let n = 0; require("http").createServer((q, s) => s.end(String(++n))).listen(3000)';

export const PAUSE_WORKLOADS: PauseWorkload[] = [
  {
    name: 'node_http',
    template: 'nodejs-20',
    server: ['node', '-e', NODE_SERVER],
    ready:
      'node -e \'fetch("http://127.0.0.1:3000").then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))\'',
    what: 'a Node.js 20 HTTP server (nodejs-20)',
  },
  {
    name: 'full_stack_pg_redis',
    template: 'full-stack',
    setup: `set -e
PG=$(ls -d /usr/lib/postgresql/*/bin | head -1)
mkdir -p /tmp/pg && chown postgres /tmp/pg
su postgres -s /bin/sh -c "$PG/initdb -D /tmp/pg/data -A trust >/dev/null && $PG/pg_ctl -D /tmp/pg/data -l /tmp/pg/log -o '-k /tmp/pg' -w start >/dev/null"
su postgres -s /bin/sh -c "psql -h /tmp/pg -X -q -c 'create table t (n int); insert into t select generate_series(1, 100000)'"
redis-server --daemonize yes --port 6379 --save '' >/dev/null
until redis-cli ping 2>/dev/null | grep -q PONG; do sleep 0.05; done
redis-cli set k v >/dev/null`,
    ready:
      'su postgres -s /bin/sh -c "psql -h /tmp/pg -X -qAt -c \'select count(*) from t\'" | grep -qx 100000 && redis-cli get k | grep -qx v',
    what: 'PostgreSQL (100,000 rows) and Redis running (full-stack)',
  },
];
