import type { Identity } from './identity.js';

export type UserIdentity = Extract<Identity, { kind: 'user' }>;
export type RobotIdentity = Extract<Identity, { kind: 'robot' }>;

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
