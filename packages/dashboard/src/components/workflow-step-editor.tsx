import { useState } from 'react';
import { Button } from './ui.tsx';
import {
  addableKinds,
  addStep,
  isCode,
  removeStep,
  renameCase,
  type StepKind,
  setEdge,
  setStepField,
  stepIdPattern,
  type WorkflowStepValue,
  type WorkflowValue,
} from './workflow-model.ts';

const input =
  'w-full rounded-md border border-zinc-300 bg-white px-2 py-1 text-sm dark:border-zinc-700 dark:bg-zinc-900';

/** A part of the step that is code in the file (a zod schema, a function): shown, not edited. */
function CodePart({ name, value }: { name: string; value: unknown }) {
  return (
    <div className="space-y-1" data-code-part={name}>
      <span className="text-sm font-medium">{name}</span>
      <pre className="overflow-x-auto rounded bg-zinc-100 p-2 text-xs dark:bg-zinc-800">
        {isCode(value) ? (value as { $code: string }).$code : JSON.stringify(value, null, 2)}
      </pre>
      <p className="text-xs text-zinc-500">
        Read-only: {isCode(value) ? 'code in the agent file' : 'edit it in the file'}.
      </p>
    </div>
  );
}

/** A choice of the step an edge leads to ("ends" removes the edge). */
function TargetSelect({
  label,
  value,
  steps,
  self,
  onChange,
  none = '(ends here)',
}: {
  label: string;
  value: unknown;
  steps: string[];
  self: string;
  onChange: (target: string | undefined) => void;
  none?: string;
}) {
  return (
    <label className="block space-y-1">
      <span className="text-sm font-medium">{label}</span>
      <select
        className={input}
        value={typeof value === 'string' ? value : ''}
        onChange={(e) => onChange(e.target.value || undefined)}
      >
        <option value="">{none}</option>
        {steps
          .filter((s) => s !== self)
          .map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
      </select>
    </label>
  );
}

function Text({
  label,
  value,
  onChange,
  area,
}: {
  label: string;
  value: unknown;
  onChange: (v: string) => void;
  area?: boolean;
}) {
  if (isCode(value)) return <CodePart name={label} value={value} />;
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is one of the two below
    <label className="block space-y-1">
      <span className="text-sm font-medium">{label}</span>
      {area ? (
        <textarea
          className={`${input} font-mono`}
          rows={4}
          value={typeof value === 'string' ? value : ''}
          onChange={(e) => onChange(e.target.value)}
        />
      ) : (
        <input
          className={input}
          value={typeof value === 'string' ? value : ''}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </label>
  );
}

/** The cases of a branch: each value, where it leads; add, rename and remove them. */
function Cases({
  id,
  step,
  w,
  change,
}: {
  id: string;
  step: WorkflowStepValue;
  w: WorkflowValue;
  change: (w: WorkflowValue) => void;
}) {
  const cases = Object.entries((step.cases as Record<string, string> | undefined) ?? {});
  const steps = Object.keys(w.steps);
  const [value, setValue] = useState('');
  return (
    <fieldset className="space-y-2">
      <legend className="text-sm font-medium">Cases</legend>
      {cases.map(([when, target], i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a case's value is edited in place, its row stays
        <div key={i} className="flex items-end gap-2" data-case={when}>
          <label className="block flex-1 space-y-1">
            <span className="text-xs">Case value</span>
            <input
              className={input}
              value={when}
              onChange={(e) => change(renameCase(w, id, when, e.target.value))}
            />
          </label>
          <div className="flex-1">
            <TargetSelect
              label={`Case ${when} goes to`}
              value={target}
              steps={steps}
              self={id}
              none="(choose a step)"
              onChange={(t) => change(setEdge(w, id, { kind: 'case', value: when }, t))}
            />
          </div>
          <Button onClick={() => change(setEdge(w, id, { kind: 'case', value: when }, undefined))}>
            Remove case {when}
          </Button>
        </div>
      ))}
      <div className="flex items-end gap-2">
        <label className="block flex-1 space-y-1">
          <span className="text-xs">New case value</span>
          <input className={input} value={value} onChange={(e) => setValue(e.target.value)} />
        </label>
        <Button
          disabled={value === '' || cases.some(([k]) => k === value)}
          onClick={() => {
            const target = (step.default as string | undefined) ?? steps.find((s) => s !== id);
            if (target === undefined) return;
            change(setEdge(w, id, { kind: 'case', value }, target));
            setValue('');
          }}
        >
          Add case
        </Button>
      </div>
    </fieldset>
  );
}

/** Adds a step: its id and kind, and the step it comes after. */
function AddStep({
  w,
  selected,
  change,
  select,
}: {
  w: WorkflowValue;
  selected: string | null;
  change: (w: WorkflowValue) => void;
  select: (id: string) => void;
}) {
  const [id, setId] = useState('');
  const [kind, setKind] = useState<StepKind>('agent');
  const [after, setAfter] = useState<string>('');
  const taken = Object.hasOwn(w.steps, id);
  const valid = stepIdPattern.test(id) && !taken;
  const from = after || selected || '';
  return (
    <fieldset
      aria-label="Add a step"
      className="space-y-2 rounded border border-zinc-200 p-3 dark:border-zinc-800"
    >
      <legend className="px-1 text-sm font-medium">Add a step</legend>
      <div className="grid grid-cols-3 gap-2">
        <label className="block space-y-1">
          <span className="text-xs">Step id</span>
          <input className={input} value={id} onChange={(e) => setId(e.target.value)} />
        </label>
        <label className="block space-y-1">
          <span className="text-xs">Kind</span>
          <select
            className={input}
            value={kind}
            onChange={(e) => setKind(e.target.value as StepKind)}
          >
            {addableKinds.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label className="block space-y-1">
          <span className="text-xs">After</span>
          <select className={input} value={from} onChange={(e) => setAfter(e.target.value)}>
            <option value="">(not connected)</option>
            {Object.keys(w.steps).map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </div>
      {id !== '' && !valid ? (
        <p className="text-xs text-red-700 dark:text-red-300">
          {taken
            ? `A step "${id}" exists.`
            : 'A step id: lowercase letters, digits, "_" and "-", starting with a letter.'}
        </p>
      ) : null}
      <Button
        disabled={!valid}
        onClick={() => {
          change(addStep(w, id, kind, from || undefined));
          select(id);
          setId('');
        }}
      >
        Add step
      </Button>
    </fieldset>
  );
}

/**
 * The builder's editor of one workflow step: its prompt, the value a branch is on and its
 * cases, an approval's message, and where each edge leads; code parts are shown read-only.
 * Each change gives the whole workflow, changed only there.
 */
export function WorkflowStepEditor({
  workflow: w,
  selected,
  change,
  select,
}: {
  workflow: WorkflowValue;
  selected: string | null;
  change: (w: WorkflowValue) => void;
  select: (id: string | null) => void;
}) {
  const step = selected === null ? undefined : w.steps[selected];
  const steps = Object.keys(w.steps);
  const field = (key: string) => (v: unknown) =>
    selected !== null && change(setStepField(w, selected, key, v));
  return (
    <div className="space-y-4">
      {step && selected !== null ? (
        <section
          aria-label={`Step ${selected}`}
          className="space-y-3 rounded border border-zinc-200 p-3 dark:border-zinc-800"
        >
          <div className="flex items-center justify-between">
            <h3 className="font-mono text-sm font-semibold">
              {selected} <span className="font-sans font-normal text-zinc-500">({step.kind})</span>
            </h3>
            <div className="flex gap-2">
              {w.start !== selected ? (
                <Button onClick={() => change({ ...w, start: selected })}>Make start</Button>
              ) : null}
              <Button
                onClick={() => {
                  change(removeStep(w, selected));
                  select(null);
                }}
              >
                Remove step {selected}
              </Button>
            </div>
          </div>
          {step.kind === 'agent' ? (
            <>
              <Text label="Prompt" value={step.prompt} onChange={field('prompt')} area />
              {step.output !== undefined ? <CodePart name="output" value={step.output} /> : null}
            </>
          ) : null}
          {step.kind === 'tool' ? (
            <>
              <Text label="Tool" value={step.tool} onChange={field('tool')} />
              <CodePart name="input" value={step.input ?? {}} />
            </>
          ) : null}
          {step.kind === 'branch' ? (
            <>
              <Text label="On (a path)" value={step.on} onChange={field('on')} />
              <Cases id={selected} step={step} w={w} change={change} />
              <TargetSelect
                label="Default"
                value={step.default}
                steps={steps}
                self={selected}
                none="(none: no match fails the run)"
                onChange={(t) => change(setEdge(w, selected, { kind: 'default' }, t))}
              />
            </>
          ) : null}
          {step.kind === 'parallel' ? (
            <p className="text-sm">
              Runs at once:{' '}
              {(Array.isArray(step.steps) ? (step.steps as string[]) : []).join(', ') ||
                'nothing yet'}
              . Connect steps from its handles in the graph.
            </p>
          ) : null}
          {step.kind === 'approval' ? (
            <Text label="Message" value={step.message} onChange={field('message')} area />
          ) : null}
          {step.kind === 'code' ? <CodePart name="run" value={step.run} /> : null}
          {step.kind !== 'branch' ? (
            <TargetSelect
              label={step.kind === 'approval' ? 'Next (approved)' : 'Next'}
              value={step.next}
              steps={steps}
              self={selected}
              onChange={(t) => change(setEdge(w, selected, { kind: 'next' }, t))}
            />
          ) : null}
          {step.kind === 'approval' ? (
            <TargetSelect
              label="Denied"
              value={step.denied}
              steps={steps}
              self={selected}
              none="(none: a denial fails the run)"
              onChange={(t) => change(setEdge(w, selected, { kind: 'denied' }, t))}
            />
          ) : null}
        </section>
      ) : (
        <p className="text-sm text-zinc-500">Select a step in the graph or the list to edit it.</p>
      )}
      <AddStep w={w} selected={selected} change={change} select={select} />
    </div>
  );
}
