// The webhook policy editor: name, description, the event types, one or more targets (notify
// type, payload format, endpoint, auth header, certificate check), and "Send test event",
// which has Berth send a test event to every target of the policy as written.
import { Button, Checkbox, Fieldset, Group, PasswordInput, Select, SimpleGrid, Text, TextInput } from '@mantine/core';
import { IconPlus, IconTrash } from '@tabler/icons-react';
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { ConnectionTest, isHttpAddress, useConnectionTest } from '../../components/ConnectionTest';
import { DescriptionField, FormDialog, useSubmission } from '../../components/FormDialog';
import { notifyDone } from '../../lib/notify';
import type { Project } from './model';
import {
  bodyOf,
  defaultMetadata,
  draftOf,
  emptyPolicyDraft,
  emptyTarget,
  eventText,
  formatText,
  policiesPath,
  policyPath,
  webhookKeys,
  type PolicyDraft,
  type TargetDraft,
  type WebhookMetadata,
  type WebhookPolicy,
} from './WebhooksModel';

interface Errors {
  name?: string;
  events?: string;
  addresses?: Array<string | undefined>;
}

function addressError(t: TargetDraft): string | undefined {
  if (!t.address.trim()) return 'Enter the address to send to.';
  if (!isHttpAddress(t.address)) return 'Enter an http:// or https:// address.';
  return undefined;
}

function TargetFields({
  index,
  target,
  metadata,
  error,
  removable,
  onChange,
  onRemove,
}: {
  index: number;
  target: TargetDraft;
  metadata: Required<WebhookMetadata>;
  error?: string;
  removable: boolean;
  onChange: (patch: Partial<TargetDraft>) => void;
  onRemove: () => void;
}) {
  const formats = metadata.payload_formats.find((f) => f.notify_type === target.type)?.formats ?? [];
  const legend = `Target ${index + 1}`;
  return (
    <Fieldset legend={legend} variant="filled" p="sm">
      <SimpleGrid cols={{ base: 1, sm: formats.length > 0 ? 2 : 1 }} spacing="sm">
        <Select
          label="Notify type"
          data={metadata.notify_type}
          value={target.type}
          onChange={(v) =>
            v && onChange({ type: v, payloadFormat: v === 'http' ? target.payloadFormat || 'Default' : target.payloadFormat })
          }
          allowDeselect={false}
        />
        {formats.length > 0 && (
          <Select
            label="Payload format"
            data={formats.map((f) => ({ value: f, label: formatText[f] ?? f }))}
            value={target.payloadFormat}
            onChange={(v) => v && onChange({ payloadFormat: v })}
            allowDeselect={false}
          />
        )}
      </SimpleGrid>
      <TextInput
        mt="sm"
        label="Endpoint URL"
        required
        value={target.address}
        onChange={(e) => onChange({ address: e.currentTarget.value })}
        placeholder={target.type === 'slack' ? 'https://hooks.slack.com/services/…' : 'https://ci.example.com/hooks/registry'}
        error={error}
        autoComplete="off"
      />
      {target.type === 'http' && (
        <PasswordInput
          mt="sm"
          label="Auth header"
          description="Sent as the Authorization header, e.g. Bearer <token>"
          value={target.authHeader}
          onChange={(e) => onChange({ authHeader: e.currentTarget.value })}
          autoComplete="off"
        />
      )}
      {target.type === 'slack' && (
        <Text size="xs" c="dimmed" mt="xs">
          Slack limits how often an incoming webhook may be called; busy projects may see deliveries refused.
        </Text>
      )}
      <Group justify="space-between" mt="sm" wrap="wrap">
        <Checkbox
          label="Verify the remote certificate"
          description="Clear it for a receiver with a self-signed certificate"
          checked={target.verifyCert}
          onChange={(e) => onChange({ verifyCert: e.currentTarget.checked })}
        />
        {removable && (
          <Button
            variant="subtle"
            color="red"
            size="compact-sm"
            leftSection={<IconTrash size={14} aria-hidden />}
            onClick={onRemove}
            aria-label={`Remove target ${index + 1}`}
          >
            Remove
          </Button>
        )}
      </Group>
    </Fieldset>
  );
}

export function WebhookPolicyDialog({
  project,
  metadata: given,
  editing,
  opened,
  onClose,
}: {
  project: Project;
  metadata: WebhookMetadata | undefined;
  editing: WebhookPolicy | null;
  opened: boolean;
  onClose: () => void;
}) {
  const client = useQueryClient();
  const submission = useSubmission();
  const test = useConnectionTest();
  const [draft, setDraft] = useState<PolicyDraft>(emptyPolicyDraft);
  const [errors, setErrors] = useState<Errors>({});
  const metadata: Required<WebhookMetadata> = {
    event_type: given?.event_type?.length ? given.event_type : defaultMetadata.event_type,
    notify_type: given?.notify_type?.length ? given.notify_type : defaultMetadata.notify_type,
    payload_formats: given?.payload_formats ?? defaultMetadata.payload_formats,
  };
  useEffect(() => {
    if (!opened) return;
    setErrors({});
    submission.clear();
    test.clear();
    setDraft(editing ? draftOf(editing) : emptyPolicyDraft);
  }, [opened, editing?.id]);

  const set = (patch: Partial<PolicyDraft>) => setDraft((d) => ({ ...d, ...patch }));
  const setTarget = (index: number, patch: Partial<TargetDraft>) => {
    setDraft((d) => ({ ...d, targets: d.targets.map((t, i) => (i === index ? { ...t, ...patch } : t)) }));
    if (errors.addresses?.[index] && patch.address !== undefined) {
      setErrors((e) => ({ ...e, addresses: e.addresses?.map((a, i) => (i === index ? undefined : a)) }));
    }
    test.clear();
  };
  const removeTarget = (index: number) => {
    setDraft((d) => ({ ...d, targets: d.targets.filter((_, i) => i !== index) }));
    setErrors((e) => ({ ...e, addresses: e.addresses?.filter((_, i) => i !== index) }));
    test.clear();
  };

  /** The targets' address errors, shown under their fields; true when there is none. */
  function targetsValid(): boolean {
    const addresses = draft.targets.map(addressError);
    setErrors((e) => ({ ...e, addresses }));
    return addresses.every((a) => a === undefined);
  }

  function sendTest() {
    if (!targetsValid()) return;
    void test.run(
      () => api.post(`${policiesPath(project)}/test`, bodyOf(draft, project, editing ?? undefined)),
      draft.targets.length === 1 ? 'The target answered the test event.' : `All ${draft.targets.length} targets answered the test event.`,
    );
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    const found: Errors = { addresses: draft.targets.map(addressError) };
    if (!draft.name.trim()) found.name = 'Give the webhook a name.';
    if (draft.eventTypes.length === 0) found.events = 'Choose at least one event type.';
    setErrors(found);
    if (found.name || found.events || found.addresses!.some((a) => a !== undefined)) return;
    void submission.run(async () => {
      const body = bodyOf(draft, project, editing ?? undefined);
      if (editing) await api.put(policyPath(project, editing.id), body);
      else await api.post(policiesPath(project), body);
      notifyDone(editing ? `Webhook ${body.name} saved` : `Webhook ${body.name} created`);
      await client.invalidateQueries({ queryKey: webhookKeys.policies(project.project_id) });
      await client.invalidateQueries({ queryKey: webhookKeys.lastTrigger(project.project_id) });
      onClose();
    });
  }

  return (
    <FormDialog
      opened={opened}
      onClose={onClose}
      title={editing ? `Edit webhook ${editing.name}` : 'New webhook'}
      size="lg"
      error={submission.error}
      errorTitle="The webhook was not saved"
      busy={submission.busy}
      submitLabel="Save"
      onSubmit={submit}
    >
      <TextInput
        label="Name"
        required
        value={draft.name}
        onChange={(e) => {
          set({ name: e.currentTarget.value });
          if (errors.name) setErrors({ ...errors, name: undefined });
        }}
        error={errors.name}
        autoComplete="off"
        data-autofocus
      />
      <DescriptionField value={draft.description} onChange={(description) => set({ description })} />
      <Checkbox.Group
        label="Event types"
        withAsterisk
        value={draft.eventTypes}
        onChange={(eventTypes) => {
          set({ eventTypes });
          if (errors.events) setErrors({ ...errors, events: undefined });
        }}
        error={errors.events}
      >
        <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="xs" mt="xs">
          {metadata.event_type.map((type) => (
            <Checkbox key={type} value={type} label={eventText(type)} />
          ))}
        </SimpleGrid>
      </Checkbox.Group>
      {draft.targets.map((target, index) => (
        <TargetFields
          key={index}
          index={index}
          target={target}
          metadata={metadata}
          error={errors.addresses?.[index]}
          removable={draft.targets.length > 1}
          onChange={(patch) => setTarget(index, patch)}
          onRemove={() => removeTarget(index)}
        />
      ))}
      <Group>
        <Button
          variant="light"
          leftSection={<IconPlus size={16} aria-hidden />}
          onClick={() => {
            set({ targets: [...draft.targets, emptyTarget] });
            test.clear();
          }}
        >
          Add target
        </Button>
      </Group>
      <ConnectionTest
        state={test}
        onTest={sendTest}
        labels={{ button: 'Send test event', works: 'Test event delivered', failed: 'Test event not delivered' }}
      />
    </FormDialog>
  );
}
