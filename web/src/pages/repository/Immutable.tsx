import { Anchor, Button, Group, Modal, Text, Tooltip } from '@mantine/core';
import { IconLock } from '@tabler/icons-react';
import { Link } from 'react-router';
import { shortDigest } from '../../lib/format';
import { projectPath } from '../../lib/paths';
import type { Artifact } from './model';

/** The names of the artifact's tags an immutability rule protects (asked with with_immutable_status). */
export function immutableTags(artifact: Pick<Artifact, 'tags'> | null): string[] {
  return (artifact?.tags ?? []).filter((t) => t.immutable).map((t) => t.name);
}

/** The lock before an immutable tag's name. */
export function ImmutableLock({ tag }: { tag: string }) {
  return (
    <Tooltip label="Immutable: this tag cannot be moved or deleted" withArrow>
      <IconLock size={12} role="img" aria-label={`${tag} is immutable`} style={{ display: 'block' }} />
    </Tooltip>
  );
}

/** Shown instead of the delete confirmation for an artifact that holds immutable tags: why it cannot go. */
export function ImmutableDeleteNotice({ project, artifact, onClose }: { project: string; artifact: Artifact | null; onClose: () => void }) {
  const tags = immutableTags(artifact);
  return (
    <Modal opened={artifact !== null && tags.length > 0} onClose={onClose} title="This artifact cannot be deleted" centered>
      {artifact && (
        <Text size="sm">
          <Text span ff="monospace">
            {shortDigest(artifact.digest)}
          </Text>{' '}
          holds the immutable tag{tags.length > 1 ? 's' : ''} <strong>{tags.join(', ')}</strong>: a tag immutability rule of this project
          protects {tags.length > 1 ? 'them' : 'it'} from being moved or deleted, and deleting the artifact would delete{' '}
          {tags.length > 1 ? 'them' : 'it'}. To delete it, disable or change the rule in the project's{' '}
          <Anchor component={Link} to={projectPath(project, 'policy')}>
            Policy
          </Anchor>{' '}
          tab first.
        </Text>
      )}
      <Group justify="flex-end" mt="lg">
        <Button variant="default" onClick={onClose}>
          Close
        </Button>
      </Group>
    </Modal>
  );
}
