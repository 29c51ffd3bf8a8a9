import { Modal } from '@mantine/core';

// Placeholder until the dialog is built.
export function ChangePasswordModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  return <Modal opened={opened} onClose={onClose} title="Change password" />;
}
