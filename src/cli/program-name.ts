/**
 * The name the CLI calls itself in usage and help: the bin it was started
 * as. The package installs two, `plexichat-plugin` and
 * `plexichat-plugin-cli`; help says the one the user typed, so what it shows
 * can be typed back. Imports nothing: the help fast path (help-snapshot.ts)
 * uses it before anything else loads.
 */
export const DEFAULT_NAME = 'plexichat-plugin';
const NAMES = [DEFAULT_NAME, 'plexichat-plugin-cli'];

/** The bin's name from argv[1] (`/usr/lib/node_modules/.../bin/plexichat-plugin-cli.js`), or the default. */
export function programName(argv1: string | undefined): string {
  const base =
    (argv1 ?? '')
      .split(/[\\/]/)
      .pop()
      ?.replace(/\.(c|m)?js$/, '') ?? '';
  return NAMES.includes(base) ? base : DEFAULT_NAME;
}

/**
 * Help text (written with the default name) in the invoked name: the
 * command word `plexichat-plugin`, not file or folder names that contain it
 * (`~/.config/plexichat-plugin/`, `_plexichat-plugin`).
 */
export function renameProgram(text: string, name: string): string {
  return name === DEFAULT_NAME ? text : text.replace(/(?<![\w/._-])plexichat-plugin(?![\w/.-])/g, name);
}
