import type { Identity } from './identity.js';

export type UserIdentity = Extract<Identity, { kind: 'user' }>;
export type RobotIdentity = Extract<Identity, { kind: 'robot' }>;

/** A user account's row, as far as signing in needs it (the users table's columns). */
interface UserAccount {
  id: number | bigint | string;
  username: string;
  sysadmin: number;
  group_admin: number;
}

/** The identity of a signed-in user: a system administrator in their own right or through an admin group. */
export function userIdentity(user: UserAccount, via: UserIdentity['via']): UserIdentity {
  return { kind: 'user', userId: Number(user.id), username: user.username, sysadmin: user.sysadmin === 1 || user.group_admin === 1, via };
}

/**
 * How authentication finds accounts. The users and robots features implement it; the
 * composition root wires them in, so auth/ never reaches into a feature.
 */
export interface Principals {
  userByPassword(username: string, password: string): Promise<UserIdentity | null>;
  userById(id: number): Promise<UserIdentity | null>;
  /** A robot whose secret matches and that is neither disabled nor expired. */
  robotBySecret(name: string, secret: string): Promise<RobotIdentity | null>;
  /**
   * The account a registry token was issued to, when it still exists and may sign in (a robot
   * neither disabled nor expired): when it was created, in Unix milliseconds. Null otherwise.
   */
  tokenSubject(name: string): Promise<{ createdAt: number } | null>;
  /** Names starting with this are robot accounts. */
  robotPrefix: string;
}
