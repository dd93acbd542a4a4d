import { CancelledError, UsageError } from '../errors.js';
import type { Ctx } from './context.js';

/**
 * Prompts through @inquirer/prompts, loaded only when a prompt is shown.
 * Without an interactive terminal a missing value is a usage error that
 * names the flag, never a silent default.
 */
export interface Choice {
  value: string;
  name?: string;
  description?: string;
}

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof Error && (err.name === 'ExitPromptError' || err.name === 'AbortPromptError')) {
      throw new CancelledError();
    }
    throw err;
  }
}

function requireInteractive(ctx: Ctx, flag: string, what: string): void {
  if (!ctx.interactive) {
    throw new UsageError(`missing ${what}: pass ${flag}`, {
      hint: 'prompts are only shown on an interactive terminal (stdin is not a TTY, CI is set, or --yes was given)',
    });
  }
}

export async function askText(ctx: Ctx, opts: { flag: string; message: string; default?: string; validate?: (v: string) => true | string }): Promise<string> {
  requireInteractive(ctx, opts.flag, opts.message.replace(/[:?]\s*$/, '').toLowerCase());
  const { input } = await import('@inquirer/prompts');
  return guard(() => input({ message: opts.message, default: opts.default, validate: opts.validate }, { signal: ctx.signal }));
}

export async function askSelect(ctx: Ctx, opts: { flag: string; message: string; choices: Choice[]; default?: string }): Promise<string> {
  requireInteractive(ctx, opts.flag, opts.message.replace(/[:?]\s*$/, '').toLowerCase());
  const { select } = await import('@inquirer/prompts');
  return guard(() => select({ message: opts.message, choices: opts.choices, default: opts.default }, { signal: ctx.signal }));
}

export async function askSecret(ctx: Ctx, opts: { flag: string; message: string }): Promise<string> {
  requireInteractive(ctx, opts.flag, opts.message.replace(/[:?]\s*$/, '').toLowerCase());
  const { password } = await import('@inquirer/prompts');
  return guard(() => password({ message: opts.message, mask: true }, { signal: ctx.signal }));
}
