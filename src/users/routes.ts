import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import { requireAuthenticated, type AccessGuard } from '../auth/guard.js';
import { displayName, type Identity } from '../auth/identity.js';
import { bodyOf, created, idParam, pagingOf, queryOf, sendPage } from '../http/api-helpers.js';
import { apiError } from '../lib/errors.js';
import {
  addSchemas,
  createdWithLocation,
  empty,
  listQuery,
  object,
  ok,
  operation,
  page,
  pagingQuery,
  ref,
  str,
} from '../http/schema-helpers.js';
import { parseQuery } from '../lib/query.js';
import { userIdParams, userSchemas } from './schemas.js';
import { adminUsername, userView, type UserService } from './service.js';

export interface UserRouteDeps {
  users: UserService;
  guard: AccessGuard;
  authenticator: Authenticator;
  /** Whether anyone may sign up (the self_registration setting), asked per request. */
  selfRegistration: () => boolean;
  /** The auth_mode setting, asked per request: outside db_auth, accounts live in the directory or the provider. */
  authMode: () => string;
  /** `oidc_user_meta` of a user onboarded through OIDC (their CLI secret), null for others. */
  oidcMeta?: (userId: number) => Promise<Record<string, unknown> | null>;
}

/** The user themself, or whoever holds the system-level user permission (administrators, robots given it). */
function selfOr(guard: AccessGuard, identity: Identity, userId: number, action: 'read' | 'update'): void {
  requireAuthenticated(identity);
  if (identity.kind === 'user' && identity.userId === userId) return;
  if (guard.canSystem(identity, 'user', action)) return;
  throw apiError('FORBIDDEN', 'only the user themself or a system administrator may do this');
}

function currentUserId(identity: Identity): number {
  requireAuthenticated(identity);
  if (identity.kind !== 'user') throw apiError('PRECONDITION', 'the caller is not a local user (robot accounts have no profile)');
  return identity.userId;
}

/**
 * Outside db_auth only the local admin account may be changed here, by a system administrator
 * (Harbor's rule); everyone else's profile and password live in the directory or the provider.
 */
async function requireModifiable(deps: UserRouteDeps, identity: Identity, id: number): Promise<void> {
  if (deps.authMode() === 'db_auth') {
    selfOr(deps.guard, identity, id, 'update');
    return;
  }
  requireAuthenticated(identity);
  const target = await deps.users.get(id);
  if (target.username !== adminUsername) throw apiError('FORBIDDEN', `User with ID ${id} can't be updated`);
  deps.guard.requireSystem(identity, 'user', 'update');
}

/** /api/v2.0/users… as Harbor serves them. */
export async function registerUserRoutes(app: FastifyInstance, deps: UserRouteDeps): Promise<void> {
  const { users, guard } = deps;
  addSchemas(app, userSchemas);
  const tags = ['user'];

  const listUsers = operation({
    tags,
    operationId: 'listUsers',
    summary: 'List users',
    description: 'System administrators only. q filters on username and email.',
    querystring: object(listQuery),
    response: { 200: page(ref('UserResp'), 'One page of users') },
    errors: [400, 401, 403, 500],
  });
  app.get('/users', { schema: listUsers }, async (req, reply) => {
    guard.requireSystem(req.identity, 'user', 'list');
    const paging = pagingOf(req);
    const page = await users.list(parseQuery(queryOf(req).q), queryOf(req).sort, paging);
    return sendPage(req, reply, paging, { items: page.items.map(userView), total: page.total });
  });

  const createUser = operation({
    tags,
    operationId: 'createUser',
    summary: 'Create a local user',
    description: 'System administrators only, or anyone when self-registration (the self_registration system setting) is on.',
    body: ref('UserCreationReq'),
    response: { 201: createdWithLocation('The user was created') },
    errors: [400, 401, 403, 409, 500],
  });
  app.post('/users', { schema: createUser }, async (req, reply) => {
    const mode = deps.authMode();
    if (mode !== 'db_auth') {
      requireAuthenticated(req.identity);
      throw apiError('FORBIDDEN', `creating local user is not allowed under auth mode: ${mode}`);
    }
    if (!guard.canSystem(req.identity, 'user', 'create')) {
      if (req.identity.kind !== 'anonymous' || !deps.selfRegistration()) {
        throw apiError(
          req.identity.kind === 'anonymous' ? 'UNAUTHORIZED' : 'FORBIDDEN',
          'only system administrators may create users (self-registration is off)',
        );
      }
    }
    const user = await users.create(bodyOf(req), displayName(req.identity));
    return created(reply, `/api/v2.0/users/${user.id}`);
  });

  const getCurrentUserInfo = operation({
    tags,
    operationId: 'getCurrentUserInfo',
    summary: 'Get the signed-in user',
    response: { 200: ok(ref('UserResp'), "The caller's own account") },
    errors: [401, 412, 500],
  });
  /** The user as the API shows them; to the user themself with their OIDC record and CLI secret. */
  async function viewFor(identity: Identity, id: number) {
    const user = await users.get(id);
    const self = identity.kind === 'user' && identity.userId === id;
    // Harbor sets admin_role_in_auth for the signed-in user only: an LDAP/OIDC admin group made them an administrator.
    const view = { ...userView(user), admin_role_in_auth: self && user.group_admin === 1 };
    const meta = self && deps.oidcMeta ? await deps.oidcMeta(id) : null;
    return meta ? { ...view, oidc_user_meta: meta } : view;
  }

  app.get('/users/current', { schema: getCurrentUserInfo }, async (req) => viewFor(req.identity, currentUserId(req.identity)));

  const searchUsers = operation({
    tags,
    operationId: 'searchUsers',
    summary: 'Search users by name',
    description: 'Any signed-in user may search, to find someone to add to a project.',
    querystring: object({ username: str('Part of the username to look for'), ...pagingQuery }, ['username']),
    response: { 200: page(ref('UserSearchRespItem'), 'One page of matching users') },
    errors: [400, 401, 500],
  });
  app.get('/users/search', { schema: searchUsers }, async (req, reply) => {
    requireAuthenticated(req.identity);
    const username = queryOf(req).username;
    if (!username) throw apiError('BAD_REQUEST', 'username is required');
    const paging = pagingOf(req);
    const page = await users.search(username, paging);
    return sendPage(req, reply, paging, { items: page.items.map((u) => ({ user_id: u.id, username: u.username })), total: page.total });
  });

  const getUser = operation({
    tags,
    operationId: 'getUser',
    summary: 'Get a user',
    description: 'The user themself or a system administrator.',
    params: userIdParams,
    response: { 200: ok(ref('UserResp'), 'The user') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/users/:user_id', { schema: getUser }, async (req) => {
    const id = idParam((req.params as { user_id: string }).user_id, 'user_id');
    selfOr(guard, req.identity, id, 'read');
    return viewFor(req.identity, id);
  });

  const updateUserProfile = operation({
    tags,
    operationId: 'updateUserProfile',
    summary: "Change a user's profile",
    description: 'The user themself or a system administrator.',
    params: userIdParams,
    body: ref('UserProfile'),
    response: { 200: empty('The profile was changed') },
    errors: [400, 401, 403, 404, 409, 500],
  });
  app.put('/users/:user_id', { schema: updateUserProfile }, async (req, reply) => {
    const id = idParam((req.params as { user_id: string }).user_id, 'user_id');
    await requireModifiable(deps, req.identity, id);
    await users.updateProfile(id, bodyOf(req), displayName(req.identity));
    return reply.code(200).send();
  });

  const deleteUser = operation({
    tags,
    operationId: 'deleteUser',
    summary: 'Delete a user',
    description: 'System administrators only; nobody can delete themself or the admin account.',
    params: userIdParams,
    response: { 200: empty('The user was deleted') },
    errors: [400, 401, 403, 404, 500],
  });
  app.delete('/users/:user_id', { schema: deleteUser }, async (req, reply) => {
    const id = idParam((req.params as { user_id: string }).user_id, 'user_id');
    guard.requireSystem(req.identity, 'user', 'delete');
    if (req.identity.kind === 'user' && req.identity.userId === id) throw apiError('FORBIDDEN', 'you cannot delete yourself');
    const target = await users.get(id);
    if (target.username === adminUsername) throw apiError('FORBIDDEN', 'the admin account cannot be deleted');
    await users.delete(id, displayName(req.identity));
    deps.authenticator.invalidate();
    return reply.code(200).send();
  });

  const updateUserPassword = operation({
    tags,
    operationId: 'updateUserPassword',
    summary: "Change a user's password",
    description:
      'Users changing their own password must give the old one; system administrators (and robots given user update) need not for others.',
    params: userIdParams,
    body: ref('PasswordReq'),
    response: { 200: empty('The password was changed') },
    errors: [400, 401, 403, 404, 500],
  });
  app.put('/users/:user_id/password', { schema: updateUserPassword }, async (req, reply) => {
    const id = idParam((req.params as { user_id: string }).user_id, 'user_id');
    await requireModifiable(deps, req.identity, id);
    const body = bodyOf(req);
    const self = req.identity.kind === 'user' && req.identity.userId === id;
    await users.changePassword(id, body.new_password, body.old_password, self, displayName(req.identity), {
      keepSession: self ? req.sessionId : null,
    });
    deps.authenticator.invalidate();
    return reply.code(200).send();
  });

  const setUserSysAdmin = operation({
    tags,
    operationId: 'setUserSysAdmin',
    summary: 'Grant or take away system administration',
    description: 'System administrators only; the admin account always stays an administrator.',
    params: userIdParams,
    body: ref('UserSysAdminFlag'),
    response: { 200: empty('The flag was set') },
    errors: [400, 401, 403, 404, 500],
  });
  app.put('/users/:user_id/sysadmin', { schema: setUserSysAdmin }, async (req, reply) => {
    const id = idParam((req.params as { user_id: string }).user_id, 'user_id');
    guard.requireSystem(req.identity, 'user', 'update');
    const target = await users.get(id);
    if (target.username === adminUsername) throw apiError('FORBIDDEN', 'the admin account is always a system administrator');
    const self = req.identity.kind === 'user' && req.identity.userId === id;
    await users.setSysadmin(id, bodyOf(req).sysadmin_flag, displayName(req.identity), { keepSession: self ? req.sessionId : null });
    deps.authenticator.invalidate();
    return reply.code(200).send();
  });
}
