import ELK, { type ElkNode } from 'elkjs/lib/elk.bundled.js';

/**
 * Lays out a workflow graph with ELK, off the page's thread. A worker of its own also keeps
 * ELK's CommonJS shims out of the dashboard's first script.
 */
const elk = new ELK();
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<{ id: number; graph: ElkNode }>) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = (event) => {
  const { id, graph } = event.data;
  elk.layout(graph).then(
    (laid) => scope.postMessage({ id, graph: laid }),
    (error: unknown) => scope.postMessage({ id, error: String(error) }),
  );
};
