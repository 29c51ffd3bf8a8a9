// Shapes of the API answers the portal reads; field names are Harbor's.

export interface CurrentUser {
  user_id: number;
  username: string;
  email: string;
  realname: string;
  comment: string;
  sysadmin_flag: boolean;
  creation_time: string;
  update_time: string;
  /** Users onboarded through OIDC: their CLI secret (for docker login) and provider identity. */
  oidc_user_meta?: OidcUserMeta | null;
}

export interface OidcUserMeta {
  id: number;
  user_id: number;
  subiss: string;
  secret: string;
  creation_time: string;
  update_time: string;
}

export interface SystemInfo {
  harbor_version?: string;
  self_registration?: boolean;
  auth_mode?: string;
  primary_auth_mode?: boolean;
  oidc_provider_name?: string;
  registry_url?: string;
  external_url?: string;
  [key: string]: unknown;
}
