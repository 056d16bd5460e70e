/**
 * Generated sections of a README: the text between `<!-- <kind>:start name=<name> -->` and the next
 * `<!-- <kind>:end -->`, and the markdown table cells they are made of.
 */

export class MissingReadmeMarkersError extends Error {
  override name = 'MissingReadmeMarkersError';
}

export const sectionStart = (kind: string, name: string): string => `<!-- ${kind}:start name=${name} -->`;
export const sectionEnd = (kind: string): string => `<!-- ${kind}:end -->`;

/** The README with the text between the named start marker and the next end marker replaced by `content`. */
export function replaceReadmeSection(readme: string, kind: string, name: string, content: string): string {
  const start = sectionStart(kind, name);
  const end = sectionEnd(kind);
  const startIndex = readme.indexOf(start);
  const endIndex = startIndex === -1 ? -1 : readme.indexOf(end, startIndex + start.length);
  if (startIndex === -1 || endIndex === -1)
    throw new MissingReadmeMarkersError(`no "${start}" … "${end}" markers for ${name}`);
  return `${readme.slice(0, startIndex + start.length)}\n${content}\n${readme.slice(endIndex)}`;
}

/** A table cell: pipes escaped, line breaks folded, so one row stays one line. */
export const escapeCell = (text: string): string => text.replaceAll('|', '\\|').replace(/\s*\n\s*/g, ' ');

export const codeSpan = (text: string): string => `\`${escapeCell(text)}\``;

/** A markdown table, one unpadded line per row, so a changed row changes one line. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const cells of rows) lines.push(`| ${cells.join(' | ')} |`);
  return lines.join('\n');
}

export const REGENERATE_COMMAND = 'pnpm --filter @kvforge/repo-checks readme-tables';

/** A generated section's content: a note saying where it comes from and how to regenerate it, then `body`. */
export function generatedNote(source: string, body: string, command: string = REGENERATE_COMMAND): string {
  return [`<!-- generated from ${source}, then run ${command} -->`, '', body, ''].join('\n');
}
