// Asks before leaving the page (a link, back) while the form holds unsaved changes.
import { Button, Group, Modal, Text } from '@mantine/core';
import { useBlocker } from 'react-router';

export function LeaveGuard({ dirty }: { dirty: boolean }) {
  const blocker = useBlocker(({ currentLocation, nextLocation }) => dirty && currentLocation.pathname !== nextLocation.pathname);
  const blocked = blocker.state === 'blocked';
  return (
    <Modal opened={blocked} onClose={() => blocked && blocker.reset()} title="Leave without saving?" centered>
      <Text size="sm">The configuration has unsaved changes. They are lost if you leave this page now.</Text>
      <Group justify="flex-end" mt="lg">
        <Button variant="default" onClick={() => blocked && blocker.reset()}>
          Stay
        </Button>
        <Button color="red" onClick={() => blocked && blocker.proceed()}>
          Leave without saving
        </Button>
      </Group>
    </Modal>
  );
}
