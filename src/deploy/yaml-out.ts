/** YAML as deploy render writes it: stable key order, no line folding, `---` between objects. */
import { stringify } from 'yaml';

export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0, minContentWidth: 0, indent: 2, indentSeq: true, aliasDuplicateObjects: false });
}

export function toYamlDocuments(objects: unknown[]): string {
  return objects.map((o) => toYaml(o)).join('---\n');
}
