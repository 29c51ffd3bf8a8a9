/** Who is making a request. Built once per request by http/authenticate.ts. */
export interface RobotAccess {
  resource: string;
  action: string;
  effect?: string;
}

export interface RobotPermission {
  kind: 'project' | 'system';
  /** Project name, '*' for every project, or '/' for system scope. */
  namespace: string;
  access: RobotAccess[];
}

/** A /v2 token's grant: the token service already cut it down to what RBAC allows. */
export interface AccessClaim {
  type: string;
  name: string;
  actions: string[];
}

export type Identity =
  | { kind: 'anonymous' }
  | { kind: 'user'; userId: number; username: string; sysadmin: boolean; via: 'basic' | 'session' | 'cli_secret' }
  | { kind: 'robot'; robotId: number; name: string; level: string; projectId: number | null; permissions: RobotPermission[] }
  /** `subject` is the name the token was issued to, empty for an anonymous caller. */
  | { kind: 'token'; subject: string; access: AccessClaim[] };

export const anonymous: Identity = { kind: 'anonymous' };

export function displayName(identity: Identity): string {
  switch (identity.kind) {
    case 'anonymous':
      return 'anonymous';
    case 'user':
      return identity.username;
    case 'robot':
      return identity.name;
    case 'token':
      return identity.subject === '' ? 'anonymous' : identity.subject;
  }
}

export function isSysadmin(identity: Identity): boolean {
  return identity.kind === 'user' && identity.sysadmin;
}
