// System Settings: projects, tokens, robots, default quota, read-only, webhooks, sessions, the
// banner, audit forwarding, scanners.
import { Alert, Fieldset, Group, MultiSelect, NumberInput, Select, SimpleGrid, Stack, Switch } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api } from '../../../api/client';
import { splitLimit, storageUnits } from '../../../components/Quota';
import { BannerFields } from './BannerFields';
import { readableTitle, NumberSetting, SwitchSetting, TextSetting, type SettingsForm } from './fields';

const bytesOf = (amount: number | string, unit: string) => (amount === '' ? Number.NaN : Math.round(Number(amount) * Number(unit)));

/** storage_per_project in bytes (-1 unlimited), edited as an amount and a unit. */
function StorageSetting({ form }: { form: SettingsForm }) {
  const bytes = typeof form.draft.storage_per_project === 'number' ? form.draft.storage_per_project : -1;
  const [amount, setAmount] = useState<number | string>(() => splitLimit(bytes).amount);
  const [unit, setUnit] = useState(() => splitLimit(bytes).unit);
  useEffect(() => {
    if (bytes === -1 || Object.is(bytes, bytesOf(amount, unit))) return;
    const shown = splitLimit(bytes);
    setAmount(shown.amount);
    setUnit(shown.unit);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- follows the draft only (Discard, saved)
  }, [bytes]);
  const disabled = !form.editable('storage_per_project');
  const unlimited = bytes === -1;

  return (
    <Stack gap="xs">
      <Switch
        label="Unlimited storage per project by default"
        checked={unlimited}
        disabled={disabled}
        onChange={(e) => form.set('storage_per_project', e.currentTarget.checked ? -1 : bytesOf(amount === '' ? 10 : amount, unit))}
      />
      {!unlimited && (
        <Group align="flex-start" gap="sm" wrap="nowrap">
          <NumberInput
            label="Default storage per project"
            description="The limit new projects get."
            min={0}
            decimalScale={2}
            value={amount}
            disabled={disabled}
            error={form.errors.storage_per_project}
            style={{ flex: 1 }}
            onChange={(v) => {
              setAmount(v);
              form.set('storage_per_project', bytesOf(v, unit));
            }}
          />
          <Select
            label="Unit"
            data={storageUnits}
            value={unit}
            allowDeselect={false}
            disabled={disabled}
            w={100}
            mt={22}
            onChange={(v) => {
              if (!v) return;
              setUnit(v);
              form.set('storage_per_project', bytesOf(amount, v));
            }}
          />
        </Group>
      )}
    </Stack>
  );
}

/** disabled_audit_log_event_types: a comma-separated list, chosen among /auditlog-exts/events. */
function DisabledEventTypes({ form }: { form: SettingsForm }) {
  const types = useQuery({
    queryKey: ['audit-event-types', 'recorded'],
    queryFn: async () => (await api.get<{ event_type: string }[]>('/auditlog-exts/events')).map((e) => e.event_type),
    staleTime: Infinity,
  });
  const chosen = String(form.draft.disabled_audit_log_event_types ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  return (
    <MultiSelect
      label="Event types not recorded"
      description="Audit records of these types are neither stored nor forwarded."
      placeholder={chosen.length ? undefined : 'None: every event is recorded'}
      data={[...new Set([...(types.data ?? []), ...chosen])]}
      value={chosen}
      searchable
      clearable
      disabled={!form.editable('disabled_audit_log_event_types')}
      error={form.errors.disabled_audit_log_event_types}
      onChange={(v) => form.set('disabled_audit_log_event_types', v.join(','))}
    />
  );
}

export function SystemSettingsTab({ form }: { form: SettingsForm }) {
  const forwarding = String(form.draft.audit_log_forward_endpoint ?? '').trim() !== '';
  return (
    <Stack gap="md">
      <Fieldset legend="Projects and accounts">
        <SimpleGrid cols={{ base: 1, md: 2 }}>
          <Select
            label="Project creation"
            description="Who may create projects."
            data={[
              { value: 'everyone', label: 'Everyone' },
              { value: 'adminonly', label: 'Admin only' },
            ]}
            value={String(form.draft.project_creation_restriction ?? 'everyone')}
            allowDeselect={false}
            disabled={!form.editable('project_creation_restriction')}
            onChange={(v) => v && form.set('project_creation_restriction', v)}
          />
          <NumberSetting
            form={form}
            name="token_expiration"
            label="Registry token expiration (minutes)"
            description="How long a token docker or podman gets stays valid."
            min={1}
            required
          />
          <NumberSetting
            form={form}
            name="robot_token_duration"
            label="Robot token expiration (days)"
            description="The default lifetime of new robot accounts."
            min={-1}
            required
          />
          <TextSetting form={form} name="robot_name_prefix" label="Robot name prefix" required />
          <NumberSetting
            form={form}
            name="session_timeout"
            label="Session timeout (minutes)"
            description="A portal session ends after this long without activity."
            min={1}
            required
          />
        </SimpleGrid>
        <Stack mt="md">
          <StorageSetting form={form} />
        </Stack>
      </Fieldset>
      <Fieldset legend="Operation">
        <Stack gap="sm">
          <SwitchSetting
            form={form}
            name="read_only"
            label="Read-only mode"
            description="Refuse pushes, deletions and every other change; pulls and reads go on."
          />
          {form.draft.read_only === true && form.saved.read_only !== true && (
            <Alert color="yellow" styles={readableTitle} title="Read-only mode" role="status">
              Once saved, every push and change is refused until read-only mode is switched off here.
            </Alert>
          )}
          <SwitchSetting
            form={form}
            name="notification_enable"
            label="Webhooks enabled"
            description="Send the events of projects' webhook policies."
          />
          <SwitchSetting
            form={form}
            name="scanner_skip_update_pulltime"
            label="Scanners do not update the pull time"
            description="A scanner's pulls leave an artifact's last pull time as it was."
          />
        </Stack>
      </Fieldset>
      <BannerFields form={form} />
      <Fieldset legend="Audit log">
        <Stack gap="sm">
          <TextSetting
            form={form}
            name="audit_log_forward_endpoint"
            label="Audit log forwarding endpoint"
            description="host:port of a syslog server (TCP) that receives every audit record; empty for none."
            placeholder="syslog.example.com:514"
          />
          <SwitchSetting
            form={form}
            name="skip_audit_log_database"
            label="Skip audit log database"
            description={
              forwarding ? 'Forwarded records are not kept in the database.' : 'Needs a forwarding endpoint: records must go somewhere.'
            }
          />
          {'disabled_audit_log_event_types' in form.draft && <DisabledEventTypes form={form} />}
        </Stack>
      </Fieldset>
    </Stack>
  );
}
