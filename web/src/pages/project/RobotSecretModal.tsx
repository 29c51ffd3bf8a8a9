import { Alert, Button, Group, Modal, Stack, TextInput } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import { CopyIcon } from '../../components/CopyField';

export interface ShownSecret {
  title: string;
  name: string;
  secret: string;
}

/** A robot's secret, shown once (after creation or a refresh), with copy buttons. */
export function RobotSecretModal({ shown, opened, onClose }: { shown: ShownSecret | null; opened: boolean; onClose: () => void }) {
  return (
    <Modal opened={opened} onClose={onClose} title={shown?.title ?? ''} centered closeOnClickOutside={false} size="lg">
      <Stack gap="md">
        <Alert
          variant="default"
          icon={<IconAlertTriangle size={18} color="var(--mantine-color-orange-filled)" aria-hidden />}
          title="Copy the secret now"
        >
          This is the only time the secret is shown. Store it safely: Berth keeps only a hash of it.
        </Alert>
        <TextInput
          label="Name"
          readOnly
          value={shown?.name ?? ''}
          rightSection={shown && <CopyIcon value={shown.name} label="Copy name" />}
          rightSectionPointerEvents="all"
          styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
        />
        <TextInput
          label="Secret"
          readOnly
          value={shown?.secret ?? ''}
          rightSection={shown && <CopyIcon value={shown.secret} label="Copy secret" />}
          rightSectionPointerEvents="all"
          styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
          data-autofocus
          onFocus={(e) => e.currentTarget.select()}
        />
        <Group justify="flex-end">
          <Button onClick={onClose}>I have copied the secret</Button>
        </Group>
      </Stack>
    </Modal>
  );
}
