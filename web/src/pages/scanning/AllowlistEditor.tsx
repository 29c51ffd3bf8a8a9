// A CVE allowlist (Harbor's CVEAllowlist: ids and an optional expiry), the system's or a
// project's: the ids as removable badges, a field to add more, and the expiry date.
import { ActionIcon, Badge, Button, Checkbox, Group, Stack, Text, TextInput } from '@mantine/core';
import { IconX } from '@tabler/icons-react';
import { useState } from 'react';

export interface Allowlist {
  id?: number;
  project_id?: number;
  expires_at?: number | null;
  items?: Array<{ cve_id: string }> | null;
  creation_time?: string;
  update_time?: string;
}

export interface AllowlistDraft {
  ids: string[];
  /** yyyy-mm-dd, or '' for never. */
  expires: string;
}

export function draftOf(list: Allowlist | null | undefined): AllowlistDraft {
  const expires = list?.expires_at ? new Date(list.expires_at * 1000).toISOString().slice(0, 10) : '';
  return { ids: (list?.items ?? []).map((i) => i.cve_id), expires };
}

/** The draft as the API takes it: the expiry at the end of the chosen day (UTC), in seconds. */
export function allowlistBody(draft: AllowlistDraft): { items: Array<{ cve_id: string }>; expires_at: number | null } {
  return {
    items: draft.ids.map((cve_id) => ({ cve_id })),
    expires_at: draft.expires ? Math.floor(Date.parse(`${draft.expires}T23:59:59Z`) / 1000) : null,
  };
}

export function sameDraft(a: AllowlistDraft, b: AllowlistDraft): boolean {
  return a.expires === b.expires && a.ids.join('\n') === b.ids.join('\n');
}

/** CVE-2024-12345, GHSA-xxxx-xxxx-xxxx and other advisory ids: letters, digits and dashes. */
const idPattern = /^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9-]+$/;

export function AllowlistEditor({
  value,
  onChange,
  disabled,
  idPrefix,
}: {
  value: AllowlistDraft;
  onChange: (draft: AllowlistDraft) => void;
  disabled?: boolean;
  idPrefix: string;
}) {
  const [input, setInput] = useState('');
  const [error, setError] = useState<string | null>(null);

  function add() {
    const ids = input
      .split(/[\s,]+/)
      .map((s) => s.trim().toUpperCase())
      .filter(Boolean);
    const bad = ids.filter((id) => !idPattern.test(id));
    if (ids.length === 0) return setError('Type one or more CVE ids, separated by commas or spaces.');
    if (bad.length > 0) return setError(`Not a vulnerability id: ${bad.join(', ')}`);
    setError(null);
    setInput('');
    onChange({ ...value, ids: [...new Set([...value.ids, ...ids])] });
  }

  const expired = value.expires !== '' && Date.parse(`${value.expires}T23:59:59Z`) < Date.now();
  return (
    <Stack gap="sm">
      {value.ids.length === 0 ? (
        <Text size="sm" c="dimmed">
          No vulnerability is allowed.
        </Text>
      ) : (
        <Group gap={6} wrap="wrap" role="list" aria-label="Allowed vulnerabilities">
          {value.ids.map((id) => (
            <Badge
              key={id}
              role="listitem"
              variant="light"
              color="gray"
              tt="none"
              size="lg"
              pr={disabled ? undefined : 3}
              rightSection={
                disabled ? undefined : (
                  <ActionIcon
                    size="xs"
                    variant="transparent"
                    color="gray"
                    aria-label={`Remove ${id}`}
                    onClick={() => onChange({ ...value, ids: value.ids.filter((i) => i !== id) })}
                  >
                    <IconX size={12} aria-hidden />
                  </ActionIcon>
                )
              }
            >
              {id}
            </Badge>
          ))}
        </Group>
      )}
      {!disabled && (
        <Group gap="sm" align="flex-start" wrap="wrap">
          <TextInput
            id={`${idPrefix}-add`}
            label="Add CVE ids"
            placeholder="CVE-2024-1234, CVE-2023-5678"
            value={input}
            onChange={(e) => setInput(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                add();
              }
            }}
            error={error}
            w={320}
          />
          <Button variant="light" onClick={add} mt={25}>
            Add
          </Button>
        </Group>
      )}
      <Group gap="md" align="flex-end" wrap="wrap">
        <Checkbox
          id={`${idPrefix}-never`}
          label="Never expires"
          checked={value.expires === ''}
          disabled={disabled}
          onChange={(e) =>
            onChange({ ...value, expires: e.currentTarget.checked ? '' : new Date(Date.now() + 30 * 86400_000).toISOString().slice(0, 10) })
          }
        />
        {value.expires !== '' && (
          <TextInput
            id={`${idPrefix}-expires`}
            type="date"
            label="Expires on"
            value={value.expires}
            disabled={disabled}
            onChange={(e) => onChange({ ...value, expires: e.currentTarget.value })}
            error={expired ? 'This date has passed: the allowlist no longer applies.' : undefined}
            w={200}
          />
        )}
      </Group>
    </Stack>
  );
}
