import { Alert, Button, Group, Modal, PasswordInput, Stack, Textarea, type ModalProps } from '@mantine/core';
import { useState, type FormEvent, type ReactNode } from 'react';
import { errorText } from '../api/client';

/**
 * The busy flag and the server's error of a form: `run` sends, and keeps the server's
 * message to show above the form (SubmitError) when it fails.
 */
export function useSubmission() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return {
    busy,
    error,
    clear: () => setError(null),
    /**
     * Sends; on failure `onError` may put the message under the field it concerns and answer
     * null, or answer the message to show above the form (by default, the server's message).
     */
    async run(send: () => Promise<void>, onError: (err: unknown) => string | null = errorText): Promise<void> {
      setBusy(true);
      setError(null);
      try {
        await send();
      } catch (err) {
        setError(onError(err));
      } finally {
        setBusy(false);
      }
    },
  };
}

/** A dialog's "Description" field: a text area that grows with what is written. */
export function DescriptionField({ value, onChange }: { value: string; onChange: (value: string) => void }) {
  return <Textarea label="Description" value={value} onChange={(e) => onChange(e.currentTarget.value)} autosize minRows={2} />;
}

/** A secret (password, token, key) a dialog stores; when `editing`, left empty it keeps the stored one. */
export function SecretField({
  label,
  value,
  onChange,
  editing,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  editing: boolean;
}) {
  return (
    <PasswordInput
      label={label}
      value={value}
      onChange={(e) => onChange(e.currentTarget.value)}
      autoComplete="new-password"
      description={editing ? 'Empty: keep the stored one' : undefined}
    />
  );
}

/** The server's answer to a form's last attempt, above its fields; nothing when there is none. */
export function SubmitError({ error, title }: { error: string | null; title?: string }) {
  if (!error) return null;
  return (
    <Alert color="red" title={title} role="alert">
      {error}
    </Alert>
  );
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
          <SubmitError error={error} title={errorTitle} />
          {children}
          {/* Stays in view at the dialog's foot while a long form scrolls (a phone's screen). */}
          <Group
            justify="flex-end"
            pt="sm"
            pb="md"
            mb="-md"
            style={{ position: 'sticky', bottom: 0, zIndex: 1, background: 'var(--mantine-color-body)' }}
          >
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
