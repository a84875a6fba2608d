/**
 * Validates a timer schedule as the Functions host reads it: six-field NCRONTAB
 * (`{second} {minute} {hour} {day} {month} {day-of-week}`, UTC).
 *
 * croner parses the expression and finds its next occurrence (so a date that never comes, such as 30 February, is
 * caught). NCRONTAB is narrower than croner in some ways and wider in others, so each field is first checked and
 * normalised to NCRONTAB's rules:
 * - no `?`, `L`, `W`, `#` or a seventh (year) field, which croner accepts and the host rejects;
 * - day-of-week is 0-6 (croner also takes 7 for Sunday);
 * - names are any case-insensitive prefix of the full English name (`Mon`, `Monday`), croner takes three letters only;
 * - `5/15` means 5 to the field's maximum in steps of 15, which croner wants written as `5-59/15`;
 * - a date must match both day and day-of-week, where classic cron takes either.
 * A TimeSpan (`00:15:00`) is accepted by the host only on App Service plans, so not on Flex Consumption.
 */
import { Cron } from 'croner';

interface Field {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  note?: string;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const FIELDS: readonly Field[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day-of-week', min: 0, max: 6, names: DAYS, note: ' (0 is Sunday)' },
];

const SHAPE = '{second} {minute} {hour} {day} {month} {day-of-week}';

class ScheduleProblem extends Error {}

function value(field: Field, token: string): number {
  if (/^\d+$/.test(token)) {
    const n = Number(token);
    if (n < field.min || n > field.max) throw new ScheduleProblem(`${field.name} "${token}" is out of range ${field.min}-${field.max}${field.note ?? ''}`);
    return n;
  }
  if (field.names && /^[a-z]+$/i.test(token)) {
    const index = field.names.findIndex((name) => name.toLowerCase().startsWith(token.toLowerCase()));
    if (index >= 0) return index + field.min;
    const example = field.names[1]!.slice(0, 3);
    throw new ScheduleProblem(`${field.name} "${token}" is not a ${field.name === 'month' ? 'month' : 'day'} name (${field.names[0]} … ${field.names.at(-1)}, or a prefix such as ${example})`);
  }
  throw new ScheduleProblem(`${field.name} "${token}" is not NCRONTAB syntax: use numbers, names, *, ranges a-b, lists a,b and steps /n`);
}

/** One NCRONTAB field, checked and rewritten in the numeric form croner reads. */
function normaliseField(field: Field, text: string): string {
  return text
    .split(',')
    .map((item) => {
      const [base = '', step, extra] = item.split('/');
      if (extra !== undefined || base === '') throw new ScheduleProblem(`${field.name} "${text}" is not NCRONTAB syntax: use numbers, names, *, ranges a-b, lists a,b and steps /n`);
      if (step !== undefined && !/^[1-9]\d*$/.test(step)) throw new ScheduleProblem(`${field.name} "${text}": a step must be a whole number of at least 1`);
      let range: string;
      if (base === '*') range = '*';
      else {
        const [from = '', to, more] = base.split('-');
        if (more !== undefined) throw new ScheduleProblem(`${field.name} "${text}" is not NCRONTAB syntax: use numbers, names, *, ranges a-b, lists a,b and steps /n`);
        const start = value(field, from);
        // NCRONTAB reads `a/n` as a to the field's maximum in steps of n.
        range = to !== undefined ? `${start}-${value(field, to)}` : step !== undefined ? `${start}-${field.max}` : `${start}`;
      }
      return step !== undefined ? `${range}/${step}` : range;
    })
    .join(',');
}

/** Why `expression` is not a schedule the Functions host runs on Flex Consumption, or undefined when it is one. */
export function ncrontabProblem(expression: string): string | undefined {
  const trimmed = expression.trim();
  if (/^(\d+\.)?\d{1,2}:\d{2}(:\d{2})?$/.test(trimmed)) {
    return `a TimeSpan schedule ("${trimmed}") works only on an App Service plan, not on Flex Consumption: write it as NCRONTAB, e.g. "0 */15 * * * *"`;
  }
  const fields = trimmed.split(/\s+/).filter(Boolean);
  if (fields.length !== FIELDS.length) {
    const hint = fields.length === 5 ? `; for a five-field cron expression prefix the seconds: "0 ${fields.join(' ')}"` : '';
    return `expected six fields ${SHAPE}, got ${fields.length}${hint}`;
  }
  let normalised: string;
  try {
    normalised = fields.map((text, i) => normaliseField(FIELDS[i]!, text)).join(' ');
  } catch (error) {
    if (error instanceof ScheduleProblem) return error.message;
    throw error;
  }
  let next: Date | null;
  try {
    // NCRONTAB fires only on dates that match both day and day-of-week (not either, as classic cron does).
    next = new Cron(normalised, { paused: true, timezone: 'UTC', legacyMode: false }).nextRun();
  } catch (error) {
    return `is not a valid schedule: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (!next) return `never fires (no date matches day ${fields[3]} of month ${fields[4]} on day-of-week ${fields[5]})`;
  return undefined;
}
