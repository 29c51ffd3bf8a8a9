// The LDAP settings of the Authentication tab and "Test LDAP server" (POST /ldap/ping with
// the form's values: the stored search password is used when none is typed).
import { Fieldset, SimpleGrid, Stack } from '@mantine/core';
import { api } from '../../../api/client';
import { ConnectionTest, useConnectionTest } from '../../../components/ConnectionTest';
import { NumberSetting, ScopeSetting, SecretSetting, SwitchSetting, TextSetting, type SettingsForm } from './fields';
import type { Draft } from './model';

interface LdapPingResult {
  success: boolean;
  message?: string;
}

/** Harbor's LdapConf, plus Berth's StartTLS and CA certificate. */
function ldapConf(draft: Draft) {
  const conf: Record<string, unknown> = {
    ldap_url: String(draft.ldap_url ?? '').trim(),
    ldap_start_tls: draft.ldap_start_tls === true,
    ldap_verify_cert: draft.ldap_verify_cert !== false,
    ldap_ca_cert: String(draft.ldap_ca_cert ?? ''),
    ldap_search_dn: String(draft.ldap_search_dn ?? ''),
    ldap_base_dn: String(draft.ldap_base_dn ?? ''),
    ldap_filter: String(draft.ldap_filter ?? ''),
    ldap_uid: String(draft.ldap_uid ?? ''),
    ldap_scope: Number(draft.ldap_scope ?? 2),
    ldap_connection_timeout: Number(draft.ldap_timeout ?? 5),
  };
  if (draft.ldap_search_password) conf.ldap_search_password = draft.ldap_search_password;
  return conf;
}

export function LdapFields({ form }: { form: SettingsForm }) {
  const test = useConnectionTest();
  const url = String(form.draft.ldap_url ?? '').trim();

  function ping() {
    void test.run(async () => {
      if (!/^ldaps?:\/\/[^\s/]+/i.test(url)) throw new Error('Enter an ldap:// or ldaps:// address first.');
      const { data } = await api.post<LdapPingResult>('/ldap/ping', ldapConf(form.draft));
      if (!data?.success) throw new Error(data?.message || 'The LDAP server did not accept the settings.');
    }, 'Berth reached the LDAP server and bound with the search DN.');
  }

  return (
    <Stack gap="md">
      <Fieldset legend="LDAP server">
        <Stack gap="sm">
          <TextSetting form={form} name="ldap_url" label="LDAP URL" placeholder="ldaps://ldap.example.com" required />
          <SwitchSetting
            form={form}
            name="ldap_start_tls"
            label="StartTLS"
            description="Upgrade an ldap:// connection to TLS before binding."
          />
          <SwitchSetting
            form={form}
            name="ldap_verify_cert"
            label="Verify certificate"
            description="Check the server's TLS certificate (ldaps:// and StartTLS)."
          />
          <TextSetting
            form={form}
            name="ldap_ca_cert"
            label="CA certificate (PEM)"
            description="Trusted besides the system's certificate authorities, for a server with a private CA."
            placeholder="-----BEGIN CERTIFICATE-----"
            multiline
          />
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            <TextSetting form={form} name="ldap_search_dn" label="Search DN" placeholder="cn=admin,dc=example,dc=com" />
            <SecretSetting form={form} name="ldap_search_password" label="Search password" />
            <TextSetting form={form} name="ldap_base_dn" label="Base DN" placeholder="ou=people,dc=example,dc=com" required />
            <TextSetting form={form} name="ldap_filter" label="Filter" placeholder="(objectClass=person)" />
            <TextSetting form={form} name="ldap_uid" label="UID attribute" placeholder="uid" required />
            <ScopeSetting form={form} name="ldap_scope" label="Scope" />
            <NumberSetting form={form} name="ldap_timeout" label="Timeout (seconds)" min={1} />
          </SimpleGrid>
          <ConnectionTest
            state={test}
            onTest={ping}
            labels={{ button: 'Test LDAP server', works: 'LDAP server reached', failed: 'LDAP test failed' }}
          />
        </Stack>
      </Fieldset>
      <Fieldset legend="LDAP groups">
        <SimpleGrid cols={{ base: 1, md: 2 }}>
          <TextSetting form={form} name="ldap_group_base_dn" label="Group base DN" placeholder="ou=groups,dc=example,dc=com" />
          <TextSetting form={form} name="ldap_group_search_filter" label="Group filter" placeholder="(objectClass=groupOfNames)" />
          <TextSetting form={form} name="ldap_group_attribute_name" label="Group GID attribute" placeholder="cn" />
          <TextSetting
            form={form}
            name="ldap_group_admin_dn"
            label="Group admin DN"
            description="Members of this group are system administrators."
          />
          <TextSetting form={form} name="ldap_group_membership_attribute" label="Group membership attribute" placeholder="memberof" />
          <ScopeSetting form={form} name="ldap_group_search_scope" label="Group search scope" />
        </SimpleGrid>
      </Fieldset>
    </Stack>
  );
}
