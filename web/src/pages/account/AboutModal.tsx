import { Anchor, Group, Modal, Skeleton, Stack, Text, ThemeIcon } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { IconAnchor, IconExternalLink } from '@tabler/icons-react';
import { api, apiBase, errorText } from '../../api/client';
import type { SystemInfo } from '../../api/types';

const linkStyle = { display: 'inline-flex', alignItems: 'center', gap: 4, width: 'fit-content' } as const;

/** Product name, server version and where the API is documented (opened from the user menu). */
export function AboutModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const info = useQuery({
    queryKey: ['systeminfo'],
    queryFn: () => api.get<SystemInfo>('/systeminfo'),
    enabled: opened,
  });

  return (
    <Modal opened={opened} onClose={onClose} title="About Berth" centered>
      <Stack gap="md">
        <Group gap="sm" wrap="nowrap">
          <ThemeIcon size={44} radius="md" variant="light" aria-hidden>
            <IconAnchor size={28} />
          </ThemeIcon>
          <div>
            <Text fw={700} size="lg">
              Berth
            </Text>
            {info.isPending ? (
              <Skeleton height={14} width={140} mt={4} />
            ) : info.isError ? (
              <Text size="sm" c="red" role="alert">
                Could not read the version: {errorText(info.error)}
              </Text>
            ) : (
              <Text size="sm" c="dimmed">
                Version {info.data.harbor_version ?? 'unknown'}
              </Text>
            )}
          </div>
        </Group>
        <Text size="sm">
          A cloud-native artifact registry: an OCI registry with Harbor&apos;s projects, robots, labels and audit log, and Harbor&apos;s
          API, in one Node.js process.
        </Text>
        <Stack gap={6}>
          <Anchor href={`${apiBase}/docs`} target="_blank" rel="noopener noreferrer" size="sm" style={linkStyle}>
            API documentation
            <IconExternalLink size={14} aria-hidden />
          </Anchor>
          <Anchor href={`${apiBase}/openapi.json`} target="_blank" rel="noopener noreferrer" size="sm" style={linkStyle}>
            OpenAPI document
            <IconExternalLink size={14} aria-hidden />
          </Anchor>
        </Stack>
      </Stack>
    </Modal>
  );
}
