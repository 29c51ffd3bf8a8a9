// Authentication: the mode (fixed once users other than admin exist, as in Harbor) and its settings.
import { Alert, Select, Stack } from '@mantine/core';
import { readableTitle, SwitchSetting, type SettingsForm } from './fields';
import { LdapFields } from './LdapFields';
import { authModeLabels } from './model';
import { OidcFields } from './OidcFields';

const modes = Object.entries(authModeLabels).map(([value, label]) => ({ value, label }));

export function AuthenticationTab({ form }: { form: SettingsForm }) {
  const mode = String(form.draft.auth_mode ?? 'db_auth');
  const fixed = !form.editable('auth_mode');
  return (
    <Stack gap="md">
      <Select
        label="Authentication mode"
        data={modes}
        value={mode}
        allowDeselect={false}
        disabled={fixed}
        description={
          fixed
            ? 'The mode can change only while no user other than admin exists: users created in one mode cannot sign in with another.'
            : 'Who checks passwords: Berth’s own database, an LDAP directory or an OpenID Connect provider.'
        }
        onChange={(v) => v && form.set('auth_mode', v)}
        maw={420}
      />
      {mode !== form.saved.auth_mode && (
        <Alert color="yellow" styles={readableTitle} title="Changing the authentication mode" role="status">
          Once saved, users other than admin sign in with {authModeLabels[mode] ?? mode}. The admin account keeps its database password.
        </Alert>
      )}
      {mode === 'db_auth' && (
        <SwitchSetting
          form={form}
          name="self_registration"
          label="Allow self-registration"
          description="Anyone can create an account from the sign-in page."
        />
      )}
      {mode === 'ldap_auth' && <LdapFields form={form} />}
      {mode === 'oidc_auth' && <OidcFields form={form} />}
    </Stack>
  );
}
