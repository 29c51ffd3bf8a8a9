import { Alert, Button, Group, Modal, Stack, type ModalProps } from '@mantine/core';
import { useState, type FormEvent, type ReactNode } from 'react';
import { errorText } from '../api/client';

/**
 * The busy flag and the server's error of a dialog's form: `run` sends, and keeps the
 * server's message to show above the form when it fails.
 */
export function useSubmission() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return {
    busy,
    error,
    clear: () => setError(null),
    async run(send: () => Promise<void>): Promise<void> {
      setBusy(true);
      setError(null);
      try {
        await send();
      } catch (err) {
        setError(errorText(err));
      } finally {
        setBusy(false);
      }
    },
  };
}

export interface FormDialogProps {
  opened: boolean;
  onClose: () => void;
  title: string;
  size?: ModalProps['size'];
  /** The server's answer to the last attempt, shown above the fields under `errorTitle`. */
  error: string | null;
  errorTitle: string;
  busy: boolean;
  submitLabel: string;
  onSubmit: (event: FormEvent) => void;
  children: ReactNode;
}

/** A dialog holding one form: the server's error, the fields, then Cancel and the submit button. */
export function FormDialog({ opened, onClose, title, size, error, errorTitle, busy, submitLabel, onSubmit, children }: FormDialogProps) {
  return (
    <Modal opened={opened} onClose={onClose} title={title} size={size} centered>
      <form onSubmit={onSubmit} noValidate>
        <Stack gap="md">
          {error && (
            <Alert color="red" title={errorTitle} role="alert">
              {error}
            </Alert>
          )}
          {children}
          <Group justify="flex-end" mt="sm">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={busy}>
              {submitLabel}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
