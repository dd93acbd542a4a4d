/**
 * The one YAML position locator: maps a data path (as a schema error or a
 * rule names it) to the line and column of its node in the source, so every
 * configuration file's errors name file:line:column the same way. JSON is
 * YAML, so a JSON document read through readYaml() is located the same way.
 */
import { isMap, isPair, isScalar, type Document, type LineCounter, type Node, type Pair } from 'yaml';

export type Path = (string | number)[];

export interface Position {
  /** 1-based. */
  line: number;
  column: number;
}

/** Maps a data path to the line and column of its YAML node. */
export class Locator {
  constructor(
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    readonly file: string,
    private readonly text: string,
  ) {}

  private pair(path: Path): Pair | undefined {
    if (path.length === 0) return undefined;
    const parent = path.length === 1 ? this.doc.contents : this.doc.getIn(path.slice(0, -1), true);
    if (!isMap(parent)) return undefined;
    const last = path[path.length - 1];
    return parent.items.find((p): p is Pair => isPair(p) && isScalar(p.key) && p.key.value === last);
  }

  node(path: Path): Node | undefined {
    const n = path.length === 0 ? this.doc.contents : this.doc.getIn(path, true);
    return (n ?? undefined) as Node | undefined;
  }

  /** The source text of a scalar, as written (e.g. `1.10` for a number read as 1.1). */
  source(path: Path): string | undefined {
    const n = this.node(path);
    return n?.range ? this.text.slice(n.range[0], n.range[1]).trim() : undefined;
  }

  /** Position of the value at path (or of its key with key=true); falls back to the nearest ancestor. */
  pos(path: Path, key = false): Position {
    for (let p = path; ; p = p.slice(0, -1)) {
      const pair = this.pair(p);
      const keyNode = pair?.key as Node | undefined;
      const target: Node | undefined = key || p !== path ? (keyNode ?? this.node(p)) : (this.node(p) ?? keyNode);
      const offset = target?.range?.[0];
      if (offset !== undefined) return this.at(offset);
      if (p.length === 0) return { line: 1, column: 1 };
    }
  }

  /** Position of a source offset. */
  at(offset: number): Position {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  /** "file:line:column" of the value at path (or of its key). */
  where(path: Path, key = false): string {
    const { line, column } = this.pos(path, key);
    return `${this.file}:${line}:${column}`;
  }
}
