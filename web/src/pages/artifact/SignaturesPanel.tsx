import { Anchor, Stack, Table, Text } from '@mantine/core';
import { Link } from 'react-router';
import { shortDigest } from '../../lib/format';
import { artifactPath, projectPath } from '../../lib/paths';
import { signatureKindText, signatureStatusMeaning, SignatureStatusBadge, type SignatureView } from './SignatureMarks';

/**
 * The artifact's signatures: each one's kind, whether it verified against the project's
 * trusted keys, who signed it and with which key, and why it did not verify.
 */
export function SignaturesPanel({ project, repository, signatures }: { project: string; repository: string; signatures: SignatureView[] }) {
  if (signatures.length === 0) return <Text c="dimmed">This artifact is not signed.</Text>;
  const unchecked = signatures.some((s) => s.status === 'signed');
  return (
    <Stack gap="sm">
      {unchecked && (
        <Text size="sm" c="dimmed">
          {signatureStatusMeaning.signed}. Add keys under the project's{' '}
          <Anchor component={Link} to={projectPath(project, 'configuration')} size="sm" underline="always">
            Configuration
          </Anchor>{' '}
          to verify them.
        </Text>
      )}
      <Table.ScrollContainer minWidth={560} scrollAreaProps={{ viewportProps: { tabIndex: 0 } }}>
        <Table striped verticalSpacing="xs" aria-label="Signatures">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Kind</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Signed by</Table.Th>
              <Table.Th>Trusted key</Table.Th>
              <Table.Th>Signature</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {signatures.map((s) => (
              <Table.Tr key={s.digest}>
                <Table.Td>{signatureKindText[s.kind] ?? s.kind}</Table.Td>
                <Table.Td>
                  <Stack gap={2} align="flex-start">
                    <SignatureStatusBadge status={s.status} />
                    {s.status === 'unverified' && s.reason && (
                      <Text size="xs" c="dimmed" style={{ overflowWrap: 'anywhere' }}>
                        {s.reason}
                      </Text>
                    )}
                  </Stack>
                </Table.Td>
                <Table.Td>
                  <Text size="sm" style={{ overflowWrap: 'anywhere' }}>
                    {s.signer || '—'}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{s.key_name || '—'}</Text>
                </Table.Td>
                <Table.Td>
                  <Anchor
                    component={Link}
                    to={artifactPath(project, repository, s.digest)}
                    ff="monospace"
                    size="sm"
                    style={{ whiteSpace: 'nowrap' }}
                  >
                    {shortDigest(s.digest)}
                  </Anchor>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </Stack>
  );
}
