import { ActionIcon, Tooltip, VisuallyHidden } from '@mantine/core';
import { IconTrash } from '@tabler/icons-react';
import { useId } from 'react';
import { notDeletableReason, useProjectDeletable, type Project } from '../project/model';

/**
 * A project row's delete button. The server says first whether the project can go
 * (`_deletable`): when it cannot, the button is shown disabled with the server's reason
 * (tooltip, and the button's description for screen readers), instead of failing later.
 */
export function DeleteProjectAction({ project, onDelete }: { project: Project; onDelete: () => void }) {
  const deletable = useProjectDeletable(project, true);
  const reasonId = useId();
  const label = `Delete project ${project.name}`;
  if (deletable.data && !deletable.data.deletable) {
    const reason = notDeletableReason(deletable.data);
    return (
      <>
        <Tooltip label={reason} multiline maw={280} withArrow events={{ hover: true, focus: true, touch: true }}>
          <ActionIcon variant="subtle" color="gray" aria-label={label} aria-disabled data-disabled aria-describedby={reasonId}>
            <IconTrash size={16} aria-hidden />
          </ActionIcon>
        </Tooltip>
        <VisuallyHidden id={reasonId}>{reason}</VisuallyHidden>
      </>
    );
  }
  return (
    <ActionIcon variant="subtle" color="red" aria-label={label} loading={deletable.isPending} onClick={onDelete}>
      <IconTrash size={16} aria-hidden />
    </ActionIcon>
  );
}
