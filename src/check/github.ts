/**
 * GitHub Actions workflow-command annotations:
 * `::error file=config/plugin.yaml,line=5,col=3::validate/UNKNOWN_HOOK unknown hook 'x'`.
 * Values are escaped as the Actions toolkit does (% CR LF in the message;
 * also : and , in a property), so a message cannot end the command early
 * or inject another one; every other control character, line separator or
 * bidi control is then shown escaped as on the terminal (io/terminal.ts
 * inline). Pure.
 */
import type { Level } from './types.js';
import { inline } from '../io/terminal.js';

const COMMAND: Record<Level, string> = { error: 'error', warning: 'warning', note: 'notice' };

function escapeData(s: string): string {
  return inline(s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A'));
}

function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export interface Annotation {
  level: Level;
  message: string;
  file?: string;
  line?: number;
  column?: number;
}

/** One annotation line (no newline). Line and column are left out when unknown (0 or absent). */
export function annotation(a: Annotation): string {
  const props: string[] = [];
  if (a.file) props.push(`file=${escapeProperty(a.file)}`);
  if (a.file && a.line) props.push(`line=${a.line}`);
  if (a.file && a.line && a.column) props.push(`col=${a.column}`);
  return `::${COMMAND[a.level]}${props.length ? ` ${props.join(',')}` : ''}::${escapeData(a.message)}`;
}
