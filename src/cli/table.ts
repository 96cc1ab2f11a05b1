/** Plain-text output of the management commands: aligned columns and readable times. */

/**
 * Columns padded to their widest cell, two spaces apart, no trailing blanks:
 * what `column -t` would print, and what `awk '{print $1}'` can still read.
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** `key: value` lines with the values aligned, for one record. */
export function formatFields(fields: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...fields.map(([key]) => key.length)) + 1;
  return fields.map(([key, value]) => `${`${key}:`.padEnd(width)} ${value}`.trimEnd()).join('\n') + '\n';
}

/** UTC, to the second: the same on every machine, and sortable. */
export function formatTime(ms: number | null, missing = '-'): string {
  if (ms === null) return missing;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export const yesNo = (value: boolean): string => (value ? 'yes' : 'no');

export const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
