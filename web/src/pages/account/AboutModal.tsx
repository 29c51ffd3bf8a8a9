import { Modal } from '@mantine/core';

// Placeholder until the dialog is built.
export function AboutModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  return <Modal opened={opened} onClose={onClose} title="About Berth" />;
}
