/**
 * pytest's JUnit XML report (xunit1 or xunit2) read into counts, and the
 * collection errors it carries described (file, line, exception).
 */
import { XMLParser } from 'fast-xml-parser';
import { valueText } from '../io/value-text.js';

export interface CollectionError {
  /** The test module (or node) pytest could not collect. */
  node: string;
  /** Exception type, e.g. SyntaxError, ModuleNotFoundError. */
  kind?: string;
  message?: string;
  /** Where a SyntaxError points (absolute or as pytest printed it). */
  file?: string;
  line?: number;
}

export interface PytestSummary {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  /** Of the skipped: expected failures (xfail). */
  xfailed: number;
  errors: number;
  /** Seconds, as pytest measured them. */
  duration: number;
  collectionErrors: CollectionError[];
}

type XmlNode = Record<string, unknown>;

function asArray<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function nodeText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    const o = v as XmlNode;
    return `${typeof o['#text'] === 'string' ? o['#text'] : ''}`;
  }
  return '';
}

/** What a collection error's report says went wrong. */
export function describeCollectionError(node: string, message: string, text: string): CollectionError {
  const out: CollectionError = { node };
  const syntax = /File "([^"]+)", line (\d+)[\s\S]*?^E?\s*(SyntaxError|IndentationError|TabError): (.*)$/m.exec(text);
  if (syntax) {
    out.file = syntax[1];
    out.line = Number(syntax[2]);
    out.kind = syntax[3];
    out.message = syntax[4].trim();
    return out;
  }
  const lines = text.split('\n').filter((l) => /^E\s+\S/.test(l));
  const last = [...lines].reverse().find((l) => /^E\s+[A-Za-z_.]*(Error|Exception|Interrupt|Exit)\b/.test(l)) ?? lines.at(-1);
  if (last) {
    const m = /^E\s+([A-Za-z_.]+):\s*(.*)$/.exec(last);
    if (m) {
      out.kind = m[1];
      out.message = m[2].trim();
    } else {
      out.message = last.replace(/^E\s+/, '').trim();
    }
  } else if (message) {
    out.message = message;
  }
  return out;
}

/** Summary of a pytest JUnit XML report (xunit1 or xunit2). */
export function parseJunitXml(xml: string): PytestSummary {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    isArray: (name) => ['testsuite', 'testcase', 'failure', 'error', 'skipped'].includes(name),
  });
  const doc = parser.parse(xml) as XmlNode;
  const suites: XmlNode[] = [];
  if (doc.testsuites) suites.push(...asArray((doc.testsuites as XmlNode).testsuite as XmlNode[]));
  if (doc.testsuite) suites.push(...asArray(doc.testsuite as XmlNode[]));
  if (suites.length === 0) throw new Error('not a JUnit XML report: no <testsuite> element');
  const s: PytestSummary = { total: 0, passed: 0, failed: 0, skipped: 0, xfailed: 0, errors: 0, duration: 0, collectionErrors: [] };
  for (const suite of suites) {
    const t = Number(suite['@time']);
    if (Number.isFinite(t)) s.duration += t;
    for (const tc of asArray(suite.testcase as XmlNode[])) {
      s.total += 1;
      const failures = asArray(tc.failure as unknown[]);
      const errors = asArray(tc.error as unknown[]);
      const skipped = asArray(tc.skipped as unknown[]);
      if (failures.length > 0) s.failed += 1;
      else if (errors.length > 0) {
        s.errors += 1;
        const e = errors[0] as XmlNode | string;
        const message = typeof e === 'object' ? valueText(e['@message'] ?? '') : '';
        if (message === 'collection failure') {
          const node = [tc['@classname'], tc['@name']].filter((x) => typeof x === 'string' && x !== '').join('.');
          s.collectionErrors.push(describeCollectionError(node, message, nodeText(e)));
        }
      } else if (skipped.length > 0) {
        s.skipped += 1;
        const sk = skipped[0] as XmlNode | string;
        if (typeof sk === 'object' && sk['@type'] === 'pytest.xfail') s.xfailed += 1;
      } else s.passed += 1;
    }
  }
  s.duration = Math.round(s.duration * 1000) / 1000;
  return s;
}
