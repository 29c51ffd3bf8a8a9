import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import { requireAuthenticated, type AccessGuard } from '../auth/guard.js';
import { displayName, isSysadmin, type Identity } from '../auth/identity.js';
import { bodyOf, created, idParam, pagingOf, queryOf, sendPage } from '../http/api-helpers.js';
import { apiError } from '../lib/errors.js';
import { parseQuery } from '../lib/query.js';
import { adminUsername, userView, type UserService } from './service.js';

export interface UserRouteDeps {
  users: UserService;
  guard: AccessGuard;
  authenticator: Authenticator;
  selfRegistration: boolean;
}

function selfOrAdmin(identity: Identity, userId: number): void {
  requireAuthenticated(identity);
  if (isSysadmin(identity)) return;
  if (identity.kind === 'user' && identity.userId === userId) return;
  throw apiError('FORBIDDEN', 'only the user themself or a system administrator may do this');
}

function currentUserId(identity: Identity): number {
  requireAuthenticated(identity);
  if (identity.kind !== 'user') throw apiError('PRECONDITION', 'the caller is not a local user (robot accounts have no profile)');
  return identity.userId;
}

/** /api/v2.0/users… as Harbor serves them. */
export async function registerUserRoutes(app: FastifyInstance, deps: UserRouteDeps): Promise<void> {
  const { users, guard } = deps;

  app.get('/users', async (req, reply) => {
    guard.requireSystem(req.identity, 'user', 'list');
    const paging = pagingOf(req);
    const page = await users.list(parseQuery(queryOf(req).q), queryOf(req).sort, paging);
    return sendPage(req, reply, paging, { items: page.items.map(userView), total: page.total });
  });

  app.post('/users', async (req, reply) => {
    if (!isSysadmin(req.identity)) {
      if (req.identity.kind !== 'anonymous' || !deps.selfRegistration) {
        throw apiError(req.identity.kind === 'anonymous' ? 'UNAUTHORIZED' : 'FORBIDDEN', 'only system administrators may create users (self-registration is off)');
      }
    }
    const user = await users.create(bodyOf(req), displayName(req.identity));
    return created(reply, `/api/v2.0/users/${user.id}`);
  });

  app.get('/users/current', async (req) => userView(await users.get(currentUserId(req.identity))));

  app.get('/users/search', async (req, reply) => {
    requireAuthenticated(req.identity);
    const username = queryOf(req).username;
    if (!username) throw apiError('BAD_REQUEST', 'username is required');
    const paging = pagingOf(req);
    const page = await users.search(username, paging);
    return sendPage(req, reply, paging, { items: page.items.map((u) => ({ user_id: u.id, username: u.username })), total: page.total });
  });

  app.get('/users/:user_id', async (req) => {
    const id = idParam((req.params as { user_id: string }).user_id, 'user_id');
    selfOrAdmin(req.identity, id);
    return userView(await users.get(id));
  });

  app.put('/users/:user_id', async (req, reply) => {
    const id = idParam((req.params as { user_id: string }).user_id, 'user_id');
    selfOrAdmin(req.identity, id);
    await users.updateProfile(id, bodyOf(req), displayName(req.identity));
    return reply.code(200).send();
  });

  app.delete('/users/:user_id', async (req, reply) => {
    const id = idParam((req.params as { user_id: string }).user_id, 'user_id');
    guard.requireSystem(req.identity, 'user', 'delete');
    if (req.identity.kind === 'user' && req.identity.userId === id) throw apiError('FORBIDDEN', 'you cannot delete yourself');
    const target = await users.get(id);
    if (target.username === adminUsername) throw apiError('FORBIDDEN', 'the admin account cannot be deleted');
    await users.delete(id, displayName(req.identity));
    deps.authenticator.invalidate();
    return reply.code(200).send();
  });

  app.put('/users/:user_id/password', async (req, reply) => {
    const id = idParam((req.params as { user_id: string }).user_id, 'user_id');
    selfOrAdmin(req.identity, id);
    const body = bodyOf(req);
    const self = req.identity.kind === 'user' && req.identity.userId === id;
    await users.changePassword(id, body.new_password, body.old_password, self || !isSysadmin(req.identity), displayName(req.identity));
    deps.authenticator.invalidate();
    return reply.code(200).send();
  });

  app.put('/users/:user_id/sysadmin', async (req, reply) => {
    const id = idParam((req.params as { user_id: string }).user_id, 'user_id');
    guard.requireSystem(req.identity, 'user', 'update');
    const target = await users.get(id);
    if (target.username === adminUsername) throw apiError('FORBIDDEN', 'the admin account is always a system administrator');
    await users.setSysadmin(id, bodyOf(req).sysadmin_flag, displayName(req.identity));
    deps.authenticator.invalidate();
    return reply.code(200).send();
  });
}
