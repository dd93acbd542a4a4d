/**
 * What the code scanner (src/python/scan.py) reports, as data: the types the
 * pure cross-checks in this folder read. The scanner itself, a Python
 * process, lives in src/python/.
 */
export type DecoratorKind = 'hook' | 'endpoint' | 'require_permission';

export interface DecoratorUse {
  kind: DecoratorKind;
  /** The literal argument or dict key; null (from the scanner's JSON) when it is not a string literal. */
  value: string | null;
  file: string;
  line: number;
  column: number;
  /** The decorated function, or the handler a dict entry names. */
  function: string;
  /** How it is registered: a decorator, a decorator applied by a call (`hook('x')(f)`), or a self.hooks / self.endpoints dict. */
  style: 'decorator' | 'call' | 'dict';
  /** The class it is registered in, when in one. */
  class: string | null;
}

/** A decorator that may be the SDK's but is bound in a way the scanner cannot follow. */
export interface DynamicDecorator {
  file: string;
  line: number;
  column: number;
  function: string;
  /** The decorator as written (shortened). */
  decorator: string;
  reason: string;
}

export interface PySyntaxError {
  file: string;
  line: number;
  column: number;
  message: string;
  /** 'syntax' for a SyntaxError, 'unreadable' for a file that could not be read or decoded. */
  kind: 'syntax' | 'unreadable';
}

export interface PluginClass {
  name: string;
  file: string;
  line: number;
}

export interface ScanResult {
  uses: DecoratorUse[];
  dynamic: DynamicDecorator[];
  /** Classes deriving from the SDK's Plugin (directly, through an alias, or through another plugin class). */
  classes: PluginClass[];
  /** Python files scanned, and how many of them were parsed. */
  files: number;
  parsed: number;
  syntaxErrors: PySyntaxError[];
}
