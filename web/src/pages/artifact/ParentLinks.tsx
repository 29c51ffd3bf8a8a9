import { Anchor, Badge, Group, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { shortDigest } from '../../lib/format';
import { artifactPath } from '../../lib/paths';
import { artifactApi, keys, typeLabel, type Artifact } from '../repository/model';

/** Berth's own `parents` addition: an accessory's subject and the indexes that list an artifact. */
interface Parents {
  subject: ParentRef | null;
  indexes: ParentRef[];
}

interface ParentRef {
  digest: string;
  tags: string[];
}

/** "v1 (sha256:ab12…)", or the short digest alone. */
function refName(ref: ParentRef): string {
  return ref.tags.length > 0 ? `${ref.tags[0]} (${shortDigest(ref.digest)})` : shortDigest(ref.digest);
}

/**
 * Where the artifact belongs: the artifact an accessory is about, and the indexes (with their
 * tags) that list a platform image; each a link. Nothing when it is neither.
 */
export function ParentLinks({ project, repository, artifact }: { project: string; repository: string; artifact: Artifact }) {
  const offered = Boolean(artifact.addition_links?.parents);
  const parents = useQuery({
    // Tags move: not cached for good like the content-addressed additions.
    queryKey: [...keys.addition(project, repository, artifact.digest, 'parents')],
    enabled: offered,
    queryFn: async () => JSON.parse(await api.text(`${artifactApi(project, repository, artifact.digest)}/additions/parents`)) as Parents,
    staleTime: 10_000,
  });
  if (!offered || !parents.data) return null;
  const { subject, indexes } = parents.data;
  return (
    <>
      {subject && (
        <Group gap={6} wrap="wrap">
          <Text size="sm">{typeLabel(artifact)} of</Text>
          <Anchor component={Link} to={artifactPath(project, repository, subject.digest)} size="sm" ff="monospace">
            {refName(subject)}
          </Anchor>
        </Group>
      )}
      {indexes.length > 0 && (
        <Group gap={6} wrap="wrap">
          <Text size="sm">Part of {indexes.length === 1 ? 'index' : 'indexes'}</Text>
          {indexes.map((index) => (
            <Group key={index.digest} gap={4} wrap="wrap">
              <Anchor component={Link} to={artifactPath(project, repository, index.digest)} size="sm" ff="monospace">
                {shortDigest(index.digest)}
              </Anchor>
              {index.tags.map((tag) => (
                <Badge
                  key={tag}
                  component={Link}
                  to={artifactPath(project, repository, tag)}
                  variant="light"
                  tt="none"
                  style={{ cursor: 'pointer' }}
                >
                  {tag}
                </Badge>
              ))}
            </Group>
          ))}
        </Group>
      )}
    </>
  );
}
