import {
  type Connection,
  type Edge,
  Handle,
  MarkerType,
  type Node,
  type NodeProps,
  Position,
  ReactFlow,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import type { ElkNode } from 'elkjs/lib/elk.bundled.js';
import { useEffect, useMemo, useState } from 'react';
import {
  type EdgeRole,
  handleRole,
  roleHandle,
  roleLabel,
  stepRoles,
  stepSummary,
  type WorkflowEdge,
  type WorkflowStepValue,
  type WorkflowValue,
  workflowGraphEdges,
} from './workflow-model.ts';
import type { StepState } from './workflow-view.tsx';

/**
 * The workflow drawn as a graph (React Flow), laid out by ELK's layered algorithm from the
 * start down. Loaded on its own (`workflow-view.tsx` imports it lazily): its libraries are not
 * in the dashboard's first script. Nodes are focusable and named for screen readers; a node's
 * source handles are its edges (next, each case, default, denied, each parallel child), and
 * when `onConnect` is given a handle dragged to a step connects that edge.
 */
export interface WorkflowGraphProps {
  workflow: WorkflowValue;
  states?: Readonly<Record<string, StepState>>;
  selected?: string | null;
  onSelect?: (id: string) => void;
  /** Connects the edge `role` of `source` to `target` (drawn or dragged in the graph). */
  onConnect?: (source: string, role: EdgeRole, target: string) => void;
  label: string;
}

type StepNodeData = {
  id: string;
  step: WorkflowStepValue;
  state: StepState | undefined;
  start: boolean;
  selected: boolean;
  editable: boolean;
};
type StepNode = Node<StepNodeData, 'step'>;

const width = 220;
const height = 76;

const kindTone: Record<string, string> = {
  agent: 'border-l-sky-500 dark:border-l-sky-400',
  tool: 'border-l-violet-500 dark:border-l-violet-400',
  branch: 'border-l-amber-500 dark:border-l-amber-400',
  parallel: 'border-l-teal-500 dark:border-l-teal-400',
  approval: 'border-l-rose-500 dark:border-l-rose-400',
  code: 'border-l-zinc-500 dark:border-l-zinc-400',
};

const stateTone: Record<StepState, string> = {
  running: 'ring-4 ring-sky-400 dark:ring-sky-500 animate-pulse',
  completed: 'bg-emerald-50 border-emerald-500 dark:bg-emerald-950 dark:border-emerald-600',
  failed: 'bg-red-50 border-red-500 dark:bg-red-950 dark:border-red-600',
  interrupted: 'bg-amber-50 border-amber-500 dark:bg-amber-950 dark:border-amber-600',
};

const stateWord: Record<StepState, string> = {
  running: 'running',
  completed: 'done',
  failed: 'failed',
  interrupted: 'interrupted',
};

function StepNodeView({ data }: NodeProps<StepNode>) {
  const roles = stepRoles(data.step);
  return (
    <div
      data-step={data.id}
      data-kind={data.step.kind}
      data-state={data.state ?? 'idle'}
      className={`rounded-md border border-l-4 border-zinc-300 bg-white px-2 py-1 text-left text-zinc-900 shadow-sm dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100 ${kindTone[data.step.kind] ?? ''} ${data.state ? stateTone[data.state] : ''} ${data.selected ? 'outline-2 outline-sky-600' : ''}`}
      style={{ width, height }}
    >
      <Handle type="target" position={Position.Top} isConnectable={data.editable} />
      <div className="flex items-center justify-between gap-1 text-xs">
        <span className="font-mono font-semibold">{data.id}</span>
        <span className="text-zinc-500 dark:text-zinc-400">
          {data.start ? 'start · ' : ''}
          {data.step.kind}
          {data.state ? ` · ${stateWord[data.state]}` : ''}
        </span>
      </div>
      <div className="mt-1 line-clamp-2 text-xs text-zinc-600 dark:text-zinc-300">
        {stepSummary(data.step)}
      </div>
      {roles.map((role, i) => (
        <Handle
          key={roleHandle(role)}
          id={roleHandle(role)}
          type="source"
          position={Position.Bottom}
          isConnectable={data.editable}
          title={roleLabel(role) || 'next'}
          style={{ left: `${((i + 1) * 100) / (roles.length + 1)}%` }}
        />
      ))}
    </div>
  );
}

const nodeTypes = { step: StepNodeView };

/** True while the page is dark (the `dark` class on <html>). */
function useDark(): boolean {
  const [dark, setDark] = useState(() => document.documentElement.classList.contains('dark'));
  useEffect(() => {
    const observer = new MutationObserver(() =>
      setDark(document.documentElement.classList.contains('dark')),
    );
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });
    return () => observer.disconnect();
  }, []);
  return dark;
}

let worker: Worker | undefined;
let asked = 0;

/** ELK's layout of `graph`, computed in the layout worker (one for the page). */
function layOut(graph: ElkNode): Promise<ElkNode> {
  worker ??= new Worker(new URL('./workflow-layout.worker.ts', import.meta.url), {
    type: 'module',
  });
  const w = worker;
  const id = ++asked;
  return new Promise((resolve, reject) => {
    const onMessage = (event: MessageEvent<{ id: number; graph?: ElkNode; error?: string }>) => {
      if (event.data.id !== id) return;
      w.removeEventListener('message', onMessage);
      if (event.data.graph) resolve(event.data.graph);
      else reject(new Error(event.data.error ?? 'layout failed'));
    };
    w.addEventListener('message', onMessage);
    w.postMessage({ id, graph });
  });
}

/** Positions by step id, from ELK; recomputed when the steps or edges change. */
function useLayout(
  ids: string[],
  edges: WorkflowEdge[],
): Map<string, { x: number; y: number }> | null {
  const key = JSON.stringify([ids, edges.map((e) => [e.source, e.target])]);
  const [layout, setLayout] = useState<{
    key: string;
    positions: Map<string, { x: number; y: number }>;
  } | null>(null);
  useEffect(() => {
    let live = true;
    const [nodeIds, pairs] = JSON.parse(key) as [string[], Array<[string, string]>];
    void layOut({
      id: 'workflow',
      layoutOptions: {
        'elk.algorithm': 'layered',
        'elk.direction': 'DOWN',
        'elk.spacing.nodeNode': '48',
        'elk.layered.spacing.nodeNodeBetweenLayers': '64',
        'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      },
      children: nodeIds.map((id) => ({ id, width, height })),
      edges: pairs.map(([source, target], i) => ({
        id: `e${i}`,
        sources: [source],
        targets: [target],
      })),
    }).then((graph) => {
      if (!live) return;
      const positions = new Map<string, { x: number; y: number }>();
      for (const c of graph.children ?? []) positions.set(c.id, { x: c.x ?? 0, y: c.y ?? 0 });
      setLayout({ key, positions });
    });
    return () => {
      live = false;
    };
  }, [key]);
  return layout?.key === key ? layout.positions : (layout?.positions ?? null);
}

export function WorkflowGraph({
  workflow,
  states,
  selected,
  onSelect,
  onConnect,
  label,
}: WorkflowGraphProps) {
  const dark = useDark();
  const ids = useMemo(() => Object.keys(workflow.steps), [workflow]);
  const graphEdges = useMemo(() => workflowGraphEdges(workflow), [workflow]);
  const positions = useLayout(ids, graphEdges);
  const editable = onConnect !== undefined;

  const nodes: StepNode[] = useMemo(
    () =>
      ids.map((id) => {
        const step = workflow.steps[id] as WorkflowStepValue;
        const state = states?.[id];
        return {
          id,
          type: 'step' as const,
          position: positions?.get(id) ?? { x: 0, y: 0 },
          data: {
            id,
            step,
            state,
            start: workflow.start === id,
            selected: selected === id,
            editable,
          },
          ariaLabel: `Step ${id}: ${step.kind}${workflow.start === id ? ', the start' : ''}. ${stepSummary(step)}${state ? `. ${stateWord[state]}` : ''}`,
          draggable: false,
          selectable: true,
          focusable: true,
        };
      }),
    [ids, workflow, states, selected, positions, editable],
  );
  const edges: Edge[] = useMemo(() => {
    // Edges between the same two steps overlap: the first carries all their labels.
    const labels = new Map<string, string[]>();
    for (const e of graphEdges) {
      const pair = `${e.source}>${e.target}`;
      labels.set(pair, [...(labels.get(pair) ?? []), ...(e.label ? [e.label] : [])]);
    }
    const labelled = new Set<string>();
    return graphEdges.map((e) => {
      const pair = `${e.source}>${e.target}`;
      const label = labelled.has(pair) ? '' : (labels.get(pair) ?? []).join(', ');
      labelled.add(pair);
      return {
        id: e.id,
        source: e.source,
        target: e.target,
        sourceHandle: roleHandle(e.role),
        type: 'smoothstep',
        label: label || undefined,
        ariaLabel: `${e.source} to ${e.target}${e.label ? ` (${e.label})` : ''}`,
        markerEnd: { type: MarkerType.ArrowClosed },
        reconnectable: editable ? 'target' : false,
        animated: states?.[e.source] === 'completed' && states?.[e.target] === 'running',
        data: { role: e.role },
      };
    });
  }, [graphEdges, editable, states]);

  const connect = (c: Connection) => {
    if (!onConnect || c.source === null || c.target === null) return;
    onConnect(c.source, handleRole(c.sourceHandle), c.target);
  };

  return (
    <section
      aria-label={label}
      data-testid="workflow-graph"
      data-laid-out={positions === null ? 'false' : 'true'}
      className="h-[28rem] rounded-md border border-zinc-200 dark:border-zinc-800"
    >
      {positions === null ? (
        <p role="status" className="p-3 text-sm text-zinc-500">
          Laying out the workflow…
        </p>
      ) : (
        <ReactFlow<StepNode, Edge>
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          colorMode={dark ? 'dark' : 'light'}
          fitView
          minZoom={0.2}
          nodesDraggable={false}
          nodesConnectable={editable}
          edgesReconnectable={editable}
          onConnect={connect}
          onReconnect={(old, c) => {
            if (!onConnect || c.target === null) return;
            onConnect(old.source, (old.data as { role: EdgeRole }).role, c.target);
          }}
          onNodeClick={(_, node) => onSelect?.(node.id)}
          proOptions={{ hideAttribution: true }}
        />
      )}
    </section>
  );
}
