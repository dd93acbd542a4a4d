import type { Command } from 'commander';

/** `marketplace submit` for the submit command, `build` for build, '' for the program. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}
