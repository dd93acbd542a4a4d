/** The oldest Python the SDK and the code scanner run on: the one place it is written. */
export const MIN_PYTHON = { major: 3, minor: 8 } as const;

/** "3.8", for messages and for the scanner's own check (passed on its command line). */
export const MIN_PYTHON_TEXT = `${MIN_PYTHON.major}.${MIN_PYTHON.minor}`;

/** True when a "3.7.1"-style version is older than MIN_PYTHON. */
export function tooOld(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major < MIN_PYTHON.major || (major === MIN_PYTHON.major && minor < MIN_PYTHON.minor);
}
