// The OIDC settings of the Authentication tab, "Test OIDC server" (POST /system/oidc/ping) and
// the redirect URI to register at the provider.
import { Code, Fieldset, Group, SimpleGrid, Stack, Text } from '@mantine/core';
import { api } from '../../../api/client';
import { ConnectionTest, isHttpAddress, useConnectionTest } from '../../../components/ConnectionTest';
import { CopyIcon } from '../../../components/CopyField';
import { SecretSetting, SwitchSetting, TextSetting, type SettingsForm } from './fields';

export function OidcFields({ form }: { form: SettingsForm }) {
  const test = useConnectionTest();
  const endpoint = String(form.draft.oidc_endpoint ?? '').trim();
  const redirectUri = `${window.location.origin}/c/oidc/callback`;

  function ping() {
    void test.run(async () => {
      if (!isHttpAddress(endpoint)) throw new Error('Enter an https:// (or http://) address first.');
      await api.post('/system/oidc/ping', { url: endpoint, verify_cert: form.draft.oidc_verify_cert !== false });
    }, 'Berth read the provider’s discovery document.');
  }

  return (
    <Stack gap="md">
      <Fieldset legend="OIDC provider">
        <Stack gap="sm">
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            <TextSetting
              form={form}
              name="oidc_name"
              label="Provider name"
              description="Shown on the sign-in button."
              placeholder="Keycloak"
              required
            />
            <TextSetting
              form={form}
              name="oidc_endpoint"
              label="OIDC endpoint"
              description="The issuer, where /.well-known/openid-configuration is found."
              placeholder="https://sso.example.com/realms/main"
              required
            />
            <TextSetting form={form} name="oidc_client_id" label="Client ID" required />
            <SecretSetting form={form} name="oidc_client_secret" label="Client secret" />
            <TextSetting form={form} name="oidc_scope" label="Scope" description="Comma-separated; must include openid." />
            <TextSetting
              form={form}
              name="oidc_user_claim"
              label="Username claim"
              description="The claim that names the user; empty: ask at first sign-in."
            />
            <TextSetting form={form} name="oidc_groups_claim" label="Groups claim" placeholder="groups" />
            <TextSetting
              form={form}
              name="oidc_admin_group"
              label="Admin group"
              description="Members of this group are system administrators."
            />
            <TextSetting
              form={form}
              name="oidc_group_filter"
              label="Group filter"
              description="A regular expression: only matching groups are kept."
            />
            <TextSetting
              form={form}
              name="oidc_extra_redirect_parms"
              label="Extra redirect parameters"
              description="A JSON object added to the authorization request."
              placeholder='{"prompt":"login"}'
            />
          </SimpleGrid>
          <SwitchSetting form={form} name="oidc_verify_cert" label="Verify certificate" />
          <SwitchSetting
            form={form}
            name="oidc_auto_onboard"
            label="Automatic onboarding"
            description="Create the user at first sign-in from the username claim, without asking."
          />
          <SwitchSetting form={form} name="oidc_logout" label="Sign out at the provider too" />
          <SwitchSetting
            form={form}
            name="primary_auth_mode"
            label="Primary authentication mode"
            description="The sign-in page offers the provider first and folds the local form away."
          />
          <div>
            <Text size="sm" fw={500}>
              Redirect URI
            </Text>
            <Text size="xs" c="dimmed">
              Register this address at the provider as the client’s redirect URI.
            </Text>
            <Group gap={4} wrap="nowrap">
              <Code style={{ wordBreak: 'break-all' }} data-testid="oidc-redirect-uri">
                {redirectUri}
              </Code>
              <CopyIcon value={redirectUri} label="Copy redirect URI" />
            </Group>
          </div>
          <ConnectionTest
            state={test}
            onTest={ping}
            labels={{ button: 'Test OIDC server', works: 'OIDC server reached', failed: 'OIDC test failed' }}
          />
        </Stack>
      </Fieldset>
    </Stack>
  );
}
