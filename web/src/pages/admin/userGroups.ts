// User groups as Harbor's API gives them (/usergroups), shared by the Groups page and a project's members.
import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client';
import type { SystemInfo } from '../../api/types';

export interface UserGroup {
  id: number;
  group_name: string;
  /** 1 LDAP, 2 HTTP, 3 OIDC. */
  group_type: number;
  ldap_group_dn?: string;
}

export const ldapGroupType = 1;
export const oidcGroupType = 3;

export const groupTypeOptions = [
  { value: '1', label: 'LDAP' },
  { value: '2', label: 'HTTP' },
  { value: '3', label: 'OIDC' },
];

export function groupTypeName(type: number | undefined): string {
  return groupTypeOptions.find((t) => t.value === String(type))?.label ?? 'Unknown';
}

/** The group type a sign-in of this mode records: what a new group most likely is. */
export function groupTypeOfAuthMode(mode: string | undefined): number {
  if (mode === 'ldap_auth') return 1;
  if (mode === 'http_auth') return 2;
  return 3;
}

/** The registry's authentication mode (db_auth, ldap_auth, oidc_auth, …), once known. */
export function useAuthMode(): string | undefined {
  const info = useQuery({ queryKey: ['systeminfo'], queryFn: () => api.get<SystemInfo>('/systeminfo') });
  return info.data?.auth_mode;
}

/** Groups whose name contains `name` (GET /usergroups/search, open to every signed-in user). */
export function searchGroups(name: string) {
  return api.list<UserGroup>('/usergroups/search', { page: 1, pageSize: 20, groupname: name });
}

export const groupSearchKey = (name: string) => ['usergroup-search', name];
