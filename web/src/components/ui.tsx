/** Small shared pieces: page frame, labelled fields, notes, badges. */
import { cloneElement, type ComponentChildren, type TargetedEvent, type VNode } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import { messageOf } from '../api/http.js';
import { formatAgo, formatTime } from '../lib/format.js';

/** A page with its heading; the heading takes focus on arrival so keyboard and screen-reader users land there. */
export function Page(props: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${props.title} · Halyard`;
    if (document.activeElement === document.body || document.activeElement === null) {
      heading.current?.focus({ preventScroll: true });
    }
  }, [props.title]);
  return (
    <>
      <header class="page-head">
        <h1 tabIndex={-1} ref={heading}>
          {props.title}
        </h1>
        {props.actions && <div class="actions">{props.actions}</div>}
      </header>
      {props.children}
    </>
  );
}

export function Section(props: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card" aria-label={props.title}>
      <div class="card-head">
        <h2>{props.title}</h2>
        {props.actions && <div class="actions">{props.actions}</div>}
      </div>
      {props.children}
    </section>
  );
}

/**
 * A form control with its visible label, tied by id (a wrapping label would fold a
 * select's option text into its accessible name) and its hint as description.
 */
export function Field(props: { label: string; children: VNode; hint?: string; wide?: boolean }) {
  const id = useId();
  const hintId = `${id}-hint`;
  return (
    <div class={props.wide ? 'field wide' : 'field'}>
      <label class="label" for={id}>
        {props.label}
      </label>
      {cloneElement(props.children, { id, 'aria-describedby': props.hint ? hintId : undefined })}
      {props.hint && (
        <span class="hint" id={hintId}>
          {props.hint}
        </span>
      )}
    </div>
  );
}

/** A form's submit button (and any buttons beside it). */
export function Submit(props: {
  label: string;
  danger?: boolean;
  disabled?: boolean;
  children?: ComponentChildren;
}) {
  return (
    <div class="row">
      <button type="submit" class={props.danger ? 'danger' : 'primary'} disabled={props.disabled}>
        {props.label}
      </button>
      {props.children}
    </div>
  );
}

export interface Option {
  value: string;
  label: string;
}

/** Tenants as select options. */
export const tenantOptions = (tenants: Array<{ id: string; name: string }> | undefined): Option[] =>
  (tenants ?? []).map((t) => ({ value: t.id, label: `${t.name} (${t.id})` }));

/** A select over some records, with a first option for "none"/"all" when `empty` names it. */
export function Choice(props: {
  value: string;
  onValue: (value: string) => void;
  options: Option[];
  empty?: string;
  required?: boolean;
  id?: string;
  'aria-describedby'?: string;
}) {
  const { value, onValue, options, empty, ...rest } = props;
  return (
    <select value={value} onChange={(e) => onValue(e.currentTarget.value)} {...rest}>
      {empty !== undefined && <option value="">{empty}</option>}
      {options.map((o) => (
        <option key={o.value} value={o.value}>
          {o.label}
        </option>
      ))}
    </select>
  );
}

export function ErrorNote(props: { error: unknown }) {
  if (props.error === undefined || props.error === null) return null;
  return (
    <p class="note error" role="alert">
      {messageOf(props.error)}
    </p>
  );
}

export function Loading() {
  return (
    <p class="muted" aria-live="polite">
      Loading…
    </p>
  );
}

export function OnlineBadge(props: { online: boolean }) {
  return (
    <span class={props.online ? 'badge online' : 'badge offline'} data-testid="online-badge">
      {props.online ? 'online' : 'offline'}
    </span>
  );
}

/** How long ago `at` was; `now` for a device that is connected right now. */
export function When(props: { at: number | null | undefined; now?: boolean }) {
  if (props.now) return <span>now</span>;
  if (props.at === null || props.at === undefined) return <span class="muted">never</span>;
  return (
    <time dateTime={new Date(props.at).toISOString()} title={formatTime(props.at)}>
      {formatAgo(props.at)}
    </time>
  );
}

/** A table that scrolls sideways on a narrow screen instead of squeezing its columns. */
export function Table(props: { label: string; children: ComponentChildren; testid?: string }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={props.label}>
      <table data-testid={props.testid}>{props.children}</table>
    </div>
  );
}

export type InputEvent = TargetedEvent<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>;

/** The value of an input's event, for onInput handlers. */
export const valueOf = (e: InputEvent): string => e.currentTarget.value;
