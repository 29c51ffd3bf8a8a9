import type { Plan } from './evaluate.js';

/** What became of a removal a task tried. */
export interface Outcome {
  kind: 'removed' | 'gone' | 'refused' | 'failed';
  message?: string;
}

const columns = ['Digest', 'Tags', 'PushedTime', 'PulledTime', 'Retention', 'Reason'];

/**
 * A task's log as Harbor shows it: a table with one row per candidate and what retention
 * did (RETAIN, DEL, DEL TAGS; for a dry run what it would do). Tests compare a dry run's rows
 * with a real run's through this text.
 */
export function renderLog(plan: Plan, outcomes: Map<number, Outcome>, dryRun: boolean): string {
  const rows = plan.decisions.map((d) => {
    const outcome = outcomes.get(d.artifact.id);
    let action = d.remove ? 'DEL' : d.removeTags.length > 0 ? `DEL TAGS ${d.removeTags.join(',')}` : 'RETAIN';
    let reason = d.retained ? d.reasons.join('; ') : 'no rule retains it';
    if (outcome?.kind === 'refused') {
      action = 'RETAIN';
      reason = `removal refused: ${outcome.message ?? ''}`;
    } else if (outcome?.kind === 'failed') {
      action = `FAILED ${action}`;
      reason = outcome.message ?? '';
    } else if (outcome?.kind === 'gone') reason += ' (already gone)';
    return [
      d.artifact.digest,
      d.artifact.tags.map((t) => t.name).join(',') || '<none>',
      d.artifact.pushTime,
      d.artifact.pullTime ?? '-',
      action,
      reason,
    ];
  });
  rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const header = dryRun ? 'Dry run: nothing was removed; Retention shows what a real run would do.\n' : '';
  return `${header}${line(columns)}\n${rows.map(line).join('\n')}${rows.length > 0 ? '\n' : ''}`;
}
