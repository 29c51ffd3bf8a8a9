// A project member's name and type: a user or a group (entity_type 'u' or 'g').
import { Badge, Group, Text } from '@mantine/core';
import { IconUser, IconUsersGroup } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { groupSearchKey, groupTypeName, searchGroups } from '../admin/userGroups';
import type { Member } from './model';

export const isGroup = (m: Member) => m.entity_type === 'g';

export function MemberName({ member, you }: { member: Member; you: boolean }) {
  const Icon = isGroup(member) ? IconUsersGroup : IconUser;
  return (
    <Group gap="xs" wrap="nowrap">
      <Icon size={16} role="img" aria-label={isGroup(member) ? 'Group' : 'User'} style={{ flexShrink: 0 }} />
      <Text size="sm" fw={500} style={{ overflowWrap: 'break-word' }}>
        {member.entity_name}
      </Text>
      {you && (
        <Badge size="xs" variant="default">
          you
        </Badge>
      )}
    </Group>
  );
}

/** "User", or "Group · OIDC": the members list does not carry a group's type, the group search does. */
export function MemberType({ member }: { member: Member }) {
  const search = useQuery({
    queryKey: groupSearchKey(member.entity_name),
    enabled: isGroup(member),
    queryFn: () => searchGroups(member.entity_name),
    staleTime: 60_000,
  });
  if (!isGroup(member)) return <>User</>;
  const group = search.data?.items.find((g) => g.id === member.entity_id);
  return <>{group ? `Group · ${groupTypeName(group.group_type)}` : 'Group'}</>;
}
