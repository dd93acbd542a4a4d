/**
 * CHANGELOG.md for a new version: a dated `## [X.Y.Z] - YYYY-MM-DD` section
 * (Keep a Changelog's heading, the one `init`'s templates write) with the
 * notes, at the top (below the title and any preamble). Headings are read in
 * every style in use (`## [1.0.0] - date`, `## 1.0.0`, `## v1.0.0`: see
 * core/listing.ts); only this one is written. Each note is one list item:
 * its line breaks (LF, CR, CRLF, NEL, U+2028/2029, VT, FF) are folded into
 * spaces, so no text of a note can start a line of its own (a forged
 * `## 8.8.8` heading), and a note that would itself render as a heading is
 * refused. An
 * `## [Unreleased]` section, where one is kept, becomes the new version's
 * section, the notes added to it. Which text counts as a version's section
 * is core/listing.ts's changelogSection, the rule `marketplace prepare`
 * applies. Pure: text in, text out; the file's line endings are kept.
 */
import { changelogSection } from '../core/listing.js';

export type ChangelogAction = 'created' | 'inserted' | 'unreleased' | 'kept';

export interface ChangelogEdit {
  /** The new file text (unchanged when action is 'kept'). */
  text: string;
  action: ChangelogAction;
  heading: string;
  /** The section for the version is empty (marketplace prepare will refuse it). */
  empty: boolean;
}

export class ChangelogError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly hint: string,
    /** A bad flag value (exit 2), not a changelog that cannot take the section. */
    readonly usage = false,
  ) {
    super(message);
  }
}

/** YYYY-MM-DD in UTC. */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Every line break Markdown renderers honour, and the other C0/C1 controls: folded into one space. */
// eslint-disable-next-line no-control-regex -- the controls are what is folded
const BREAKS = /[\r\n\u000b\u000c\u0085\u2028\u2029]+|[\u0000-\u0008\u000e-\u001f\u007f-\u009f]/g;

/** A note as the one line of its list item; a note that would render as a heading (`- ## 8.8.8`) is refused. */
export function noteText(note: string): string {
  const text = note
    .replace(BREAKS, ' ')
    .replace(/[ \t]+/g, ' ')
    .trim();
  if (/^#{1,6}(?:[ \t]|$)/.test(text)) {
    throw new ChangelogError(
      `--note ${JSON.stringify(text)} would be a heading in CHANGELOG.md, not a note`,
      'NOTE_IS_HEADING',
      'say what changed in words (a note is one list item); add headings to CHANGELOG.md by hand',
      true,
    );
  }
  return text;
}

function bullets(notes: string[]): string[] {
  return notes
    .map(noteText)
    .filter((n) => n !== '')
    .map((n) => `- ${n}`);
}

/** The heading `version` writes: Keep a Changelog's `## [X.Y.Z] - YYYY-MM-DD`. */
export function releaseHeading(version: string, date: string, level = 2): string {
  return `${'#'.repeat(level)} [${version}] - ${date}`;
}

const UNRELEASED = /^(#{1,6})\s*\[?unreleased\]?\s*$/i;

/**
 * The changelog with a section for `version`. `existing` is the file's
 * text, or undefined when there is no CHANGELOG.md yet.
 */
export function addRelease(existing: string | undefined, version: string, date: string, notes: string[]): ChangelogEdit {
  const heading = releaseHeading(version, date);
  const eol = existing?.includes('\r\n') ? '\r\n' : '\n';
  const items = bullets(notes);
  if (existing === undefined) {
    const body = items.length ? `${eol}${items.join(eol)}${eol}` : '';
    return { text: `# Changelog${eol}${eol}${heading}${eol}${body}`, action: 'created', heading, empty: items.length === 0 };
  }
  const bom = existing.startsWith('\uFEFF') ? '\uFEFF' : '';
  const text = existing.slice(bom.length);
  const present = changelogSection(text, version);
  if (present !== undefined) {
    if (items.length > 0) {
      throw new ChangelogError(
        `CHANGELOG.md already has a section for ${version}`,
        'CHANGELOG_SECTION_EXISTS',
        'edit that section by hand, or run again without --note to keep it',
      );
    }
    return { text: existing, action: 'kept', heading: text.split(/\r?\n/).find((l) => l.includes(version)) ?? heading, empty: present === '' };
  }
  const lines = text.split(/\r?\n/);

  // An [Unreleased] section becomes this version's, the notes appended to its body.
  const u = lines.findIndex((l) => UNRELEASED.test(l));
  if (u !== -1) {
    const level = UNRELEASED.exec(lines[u])![1].length;
    let end = lines.length;
    for (let j = u + 1; j < lines.length; j++) {
      const h = /^(#{1,6})\s/.exec(lines[j]);
      if (h && h[1].length <= level) {
        end = j;
        break;
      }
    }
    let last = end;
    while (last > u + 1 && lines[last - 1].trim() === '') last--;
    const body = lines.slice(u + 1, last);
    const hasBody = body.some((l) => l.trim() !== '');
    const merged = hasBody ? [...body, ...items] : items.length ? ['', ...items] : [];
    const tail = lines.slice(end);
    const out = [...lines.slice(0, u), releaseHeading(version, date, level), ...merged, ...(tail.length ? [''] : []), ...tail];
    const empty = !hasBody && items.length === 0;
    return { text: bom + out.join(eol) + (tail.length ? '' : eol), action: 'unreleased', heading: releaseHeading(version, date, level), empty };
  }

  // Otherwise a new section above the first version heading (below the title and its preamble).
  const at = lines.findIndex((l) => /^#{2,6}\s/.test(l));
  const section = [heading, ...(items.length ? ['', ...items] : []), ''];
  if (at === -1) {
    // No section yet: after the whole text (a title and preamble, or nothing).
    let last = lines.length;
    while (last > 0 && lines[last - 1].trim() === '') last--;
    const head = last === 0 ? ['# Changelog'] : lines.slice(0, last);
    return { text: bom + [...head, '', ...section].join(eol), action: 'inserted', heading, empty: items.length === 0 };
  }
  // Keep one blank line between the preamble and the new section.
  const before = lines.slice(0, at);
  while (before.length && before[before.length - 1].trim() === '') before.pop();
  const out = [...(before.length ? [...before, ''] : []), ...section, ...lines.slice(at)];
  return { text: bom + out.join(eol), action: 'inserted', heading, empty: items.length === 0 };
}
