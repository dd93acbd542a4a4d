/**
 * The catalogues: the one source of truth for categories, hooks and
 * permissions. docs/catalogues.md lists the same values; a test keeps the
 * two in step.
 */

export const CATEGORIES = ['analytics', 'automation', 'bots', 'communication', 'integration', 'moderation', 'productivity', 'security', 'utility'] as const;

/** Events a plugin can subscribe to with @hook('<name>'). */
export const HOOKS: Record<string, string> = {
  user_login: 'a user signed in',
  user_logout: 'a user signed out',
  user_action: 'a user did something tracked by the platform',
  user_joined: 'a new user account was created',
  user_updated: "a user's profile changed",
  session_start: 'a client session started',
  session_end: 'a client session ended',
  message_sent: 'a message was posted',
  message_edited: 'a message was edited',
  message_deleted: 'a message was deleted',
  message_pinned: 'a message was pinned',
  reaction_added: 'a reaction was added to a message',
  reaction_removed: 'a reaction was removed from a message',
  channel_created: 'a channel was created',
  channel_deleted: 'a channel was deleted',
  channel_join: 'a user joined a channel',
  channel_leave: 'a user left a channel',
  file_uploaded: 'a file was uploaded',
  mention: 'a user was mentioned',
  command_invoked: 'a slash command was run',
  plugin_enabled: 'this plugin was enabled',
  plugin_disabled: 'this plugin was disabled',
  schedule_tick: 'a scheduled tick (cron) fired',
};

/** Permissions a plugin can require or request. */
export const PERMISSIONS: Record<string, string> = {
  user_data_read: 'read user profiles and activity',
  user_data_write: 'change user profiles',
  message_read: 'read messages',
  message_write: 'post and edit messages as the plugin',
  message_delete: 'delete messages',
  channel_read: 'read channel metadata and membership',
  channel_write: 'create and change channels',
  file_read: 'read uploaded files',
  file_write: 'upload files',
  analytics_read: 'read analytics data',
  analytics_write: 'record analytics data',
  dashboard_access: 'show dashboards to users',
  notification_send: 'send notifications to users',
  webhook_manage: 'register outgoing webhooks',
  network_access: 'make outbound network requests',
  storage_read: "read the plugin's persistent storage",
  storage_write: "write the plugin's persistent storage",
  moderation: 'moderate content (mute, kick, hide)',
  admin_access: 'administrative access to the workspace',
};

export const HOOK_NAMES = Object.keys(HOOKS);
export const PERMISSION_NAMES = Object.keys(PERMISSIONS);
