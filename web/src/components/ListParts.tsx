// Small parts the administration's and projects' lists share: the row's actions menu, the
// enabled/disabled badge, the clamped description column.
import { ActionIcon, Badge, Menu, Text } from '@mantine/core';
import { IconDotsVertical } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import type { Column } from './DataTable';

/** A row's "⋮" menu; `label` names it for screen readers ("Actions for rule nightly"), `children` are its Menu.Items. */
export function ActionsMenu({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Menu position="bottom-end" withinPortal shadow="md">
      <Menu.Target>
        <ActionIcon variant="subtle" color="gray" aria-label={label}>
          <IconDotsVertical size={16} aria-hidden />
        </ActionIcon>
      </Menu.Target>
      <Menu.Dropdown>{children}</Menu.Dropdown>
    </Menu>
  );
}

/** "Enabled" in green or "Disabled" in grey, never cut short in a narrow column. */
export function EnabledBadge({ enabled }: { enabled: boolean }) {
  return (
    <Badge variant="light" color={enabled ? 'green' : 'gray'} tt="none" style={{ minWidth: 'max-content' }}>
      {enabled ? 'Enabled' : 'Disabled'}
    </Badge>
  );
}

/** The "Description" column on wide screens: two lines at most, `maw` pixels wide; "—" when there is none. */
export function descriptionColumn<Row extends { description?: string | null }>(maw: number): Column<Row> {
  return {
    key: 'description',
    header: 'Description',
    visibleFrom: 'lg',
    render: (row) => (
      <Text size="sm" lineClamp={2} maw={maw}>
        {row.description || '—'}
      </Text>
    ),
  };
}
