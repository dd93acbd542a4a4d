import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CATEGORIES, HOOK_NAMES, PERMISSION_NAMES } from '../../src/core/catalog.js';

const doc = readFileSync(new URL('../../docs/catalogues.md', import.meta.url), 'utf8');
const listed = (section: string) => {
  const body = doc.split(/^## /m).find((s) => s.startsWith(section)) ?? '';
  return [...body.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
};

describe('docs/catalogues.md', () => {
  it('lists exactly the categories, hooks and permissions of src/core/catalog.ts', () => {
    expect(listed('Categories')).toEqual([...CATEGORIES]);
    expect(listed('Hooks')).toEqual(HOOK_NAMES);
    expect(listed('Permissions')).toEqual(PERMISSION_NAMES);
  });

  it('holds every name the runbook uses', () => {
    for (const h of ['user_login', 'user_logout', 'user_action', 'message_sent', 'channel_join', 'channel_leave', 'session_end']) {
      expect(HOOK_NAMES).toContain(h);
    }
    for (const p of ['user_data_read', 'analytics_read', 'analytics_write', 'dashboard_access', 'admin_access']) {
      expect(PERMISSION_NAMES).toContain(p);
    }
  });
});
