import { Button, Group, Modal, PasswordInput, Stack } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { api, segment } from '../../api/client';
import { useSession } from '../../auth/session';
import { notifyDone } from '../../lib/notify';
import { PasswordPair, placeError } from './forms';
import { SubmitError, useSubmission } from '../../components/FormDialog';

type Field = 'old' | 'new';

const errorRules: Array<[RegExp, Field]> = [
  [/old password/i, 'old'],
  [/password/i, 'new'],
];

/** The signed-in user changes their own password (opened from the user menu). */
export function ChangePasswordModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  return (
    <Modal opened={opened} onClose={onClose} title="Change password" centered>
      {/* The modal unmounts its content when closed: every opening starts with empty fields. */}
      <ChangePasswordForm onClose={onClose} />
    </Modal>
  );
}

function ChangePasswordForm({ onClose }: { onClose: () => void }) {
  const { user } = useSession();
  const [oldPassword, setOldPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [checked, setChecked] = useState(false);
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const submission = useSubmission();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setChecked(true);
    submission.clear();
    const missing: Partial<Record<Field, string>> = {};
    if (!oldPassword) missing.old = 'Enter your current password.';
    if (!newPassword) missing.new = 'Enter a new password.';
    setErrors(missing);
    if (!user || Object.keys(missing).length > 0 || confirm !== newPassword) return;
    await submission.run(
      async () => {
        await api.put(`/users/${segment(user.user_id)}/password`, { old_password: oldPassword, new_password: newPassword });
        notifyDone('Your password was changed');
        onClose();
      },
      (err) => {
        const placed = placeError(err, errorRules);
        if (placed.field === 'old') setErrors({ old: 'The current password is not correct.' });
        else if (placed.field) setErrors({ [placed.field]: placed.message });
        else return placed.message;
        return null;
      },
    );
  }

  return (
    <form onSubmit={submit} noValidate>
      <Stack>
        <SubmitError error={submission.error} />
        {/* A hidden username lets password managers file the new password under the right account. */}
        <input type="text" name="username" autoComplete="username" value={user?.username ?? ''} readOnly hidden />
        <PasswordInput
          label="Current password"
          required
          autoComplete="current-password"
          value={oldPassword}
          onChange={(e) => {
            setOldPassword(e.currentTarget.value);
            setErrors((x) => ({ ...x, old: undefined }));
          }}
          error={errors.old}
          data-autofocus
        />
        <PasswordPair
          newLabel="New password"
          confirmLabel="Confirm new password"
          value={newPassword}
          onChange={(value) => {
            setNewPassword(value);
            setErrors((x) => ({ ...x, new: undefined }));
          }}
          confirm={confirm}
          onConfirmChange={setConfirm}
          checked={checked}
          onChecked={() => setChecked(true)}
          error={errors.new}
        />
        <Group justify="flex-end" gap="sm" mt="xs">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" loading={submission.busy}>
            Change password
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
