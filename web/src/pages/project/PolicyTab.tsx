import { Stack } from '@mantine/core';
import { ImmutabilitySection } from './ImmutabilitySection';
import { RetentionSection } from './RetentionSection';
import type { TabProps } from './ProjectPage';

/** The project's tag policies: retention and immutability, one section each. */
export function PolicyTab(props: TabProps) {
  return (
    <Stack gap="lg">
      {props.can('tag-retention', 'read') && <RetentionSection project={props.project} canEdit={props.can('tag-retention', 'update')} />}
      {props.can('immutable-tag', 'list') && <ImmutabilitySection {...props} />}
    </Stack>
  );
}
