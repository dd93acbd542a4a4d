/**
 * Every route's handler, by route name (routes.ts). To add a route: name it
 * and give its method, path and access in routes.ts, document it in
 * docs/marketplace-api.md (test/unit/server/routes-contract.test.ts keeps the
 * two in step), write its handlers in a module here returning
 * `RouteHandlers<'yourRoute'>`, and spread that into handlersFor() below:
 * the compiler refuses a RouteName without a handler.
 */
import type { RouteHandlers, ServerCore } from '../core.js';
import { accountHandlers } from './account.js';
import { keyHandlers } from './keys.js';
import { pluginHandlers } from './plugins.js';
import { submissionHandlers } from './submissions.js';
import { submit } from './submit.js';

export function handlersFor(core: ServerCore): RouteHandlers {
  return {
    ...accountHandlers(),
    submit: (req, reply) => submit(core, req, reply),
    ...submissionHandlers(core),
    ...pluginHandlers(core),
    ...keyHandlers(core),
  };
}
