import { Hono } from 'hono';

/**
 * The dashboard's placeholder: one static page (no key needed to load it) that, once given an API
 * key, lists the deployments with their endpoints and the latest runs through the public API.
 * The visual builder replaces it; the page only uses documented `/v1` routes.
 */
export function dashboardRoutes(): Hono {
  const app = new Hono();
  app.get('/', (c) => c.html(html));
  app.get('/dashboard', (c) => c.html(html));
  return app;
}

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>RunTools</title>
<style>
  :root { color-scheme: light dark; --muted: #888; --line: #8884; }
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 960px; margin: 2rem auto; padding: 0 1rem; }
  h1 { font-size: 1.4rem; margin-bottom: 0; }
  .muted { color: var(--muted); }
  table { width: 100%; border-collapse: collapse; margin: .5rem 0 1.5rem; }
  th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
  code, pre { font: 13px/1.4 ui-monospace, monospace; }
  pre { padding: .75rem; border: 1px solid var(--line); border-radius: 6px; overflow-x: auto; }
  input { font: inherit; width: 28rem; max-width: 100%; padding: .3rem .5rem; }
  .status-completed { color: #2a2; } .status-failed, .status-cancelled { color: #d33; }
  .status-running, .status-queued { color: #c80; }
</style>
</head>
<body>
<h1>RunTools</h1>
<p class="muted">Self-hosted agent runtime. This page is a placeholder for the dashboard: it shows
what the API serves. Agents are defined in code (<code>agents/*.ts</code>); the API is described at
<a href="/v1/openapi.json">/v1/openapi.json</a>.</p>
<form id="key-form">
  <label>API key <input id="key" type="password" autocomplete="off" placeholder="RUNTOOLS_API_KEY or rtk_…"></label>
  <button>Show</button>
</form>
<p id="error" class="status-failed"></p>
<section id="content" hidden>
  <h2>Deployments</h2>
  <table><thead><tr><th>Slug</th><th>Template</th><th>Endpoint</th></tr></thead><tbody id="deployments"></tbody></table>
  <h2>Latest runs</h2>
  <table><thead><tr><th>Run</th><th>Status</th><th>Created</th><th>Output</th></tr></thead><tbody id="runs"></tbody></table>
  <h2>Call an agent</h2>
  <pre id="curl"></pre>
</section>
<script>
const $ = (id) => document.getElementById(id);
const text = (value) => { const span = document.createElement('span'); span.textContent = value; return span.innerHTML; };
async function api(path) {
  const response = await fetch(path, { headers: { authorization: 'Bearer ' + sessionStorage.getItem('runtools-key') } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ? body.error.code + ': ' + body.error.message : response.statusText);
  return body;
}
async function show() {
  $('error').textContent = '';
  try {
    const [deployments, runs] = await Promise.all([api('/v1/deployments?limit=100'), api('/v1/runs?limit=20')]);
    const origin = location.origin;
    $('deployments').innerHTML = deployments.data.map((d) =>
      '<tr><td>' + text(d.apiSlug) + '</td><td>' + text(d.template) + '</td><td><code>POST ' + text(origin + '/v1/run/' + d.apiSlug) +
      '</code><br><code>WS ' + text(origin.replace(/^http/, 'ws') + '/v1/run/' + d.apiSlug + '/stream') + '</code></td></tr>').join('') ||
      '<tr><td colspan="3" class="muted">No deployments yet: run <code>runtools dev</code> or <code>runtools deploy</code>.</td></tr>';
    $('runs').innerHTML = runs.data.map((r) =>
      '<tr><td><code>' + text(r.id) + '</code></td><td class="status-' + text(r.status) + '">' + text(r.status) + '</td><td>' +
      text(new Date(r.createdAt).toLocaleString()) + '</td><td>' + text(((r.output && r.output.text) || (r.error && r.error.message) || '').slice(0, 160)) + '</td></tr>').join('') ||
      '<tr><td colspan="4" class="muted">No runs yet.</td></tr>';
    const slug = deployments.data[0] ? deployments.data[0].apiSlug : 'SLUG';
    $('curl').textContent = "curl -s " + origin + "/v1/run/" + slug + " \\\\\\n  -H \\"authorization: Bearer $RUNTOOLS_API_KEY\\" \\\\\\n  -H 'content-type: application/json' \\\\\\n  -d '{\\"input\\": \\"List the files in the working directory\\"}'";
    $('content').hidden = false;
  } catch (error) {
    $('content').hidden = true;
    $('error').textContent = error.message;
  }
}
$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem('runtools-key', $('key').value.trim());
  show();
});
if (sessionStorage.getItem('runtools-key')) show();
</script>
</body>
</html>
`;
