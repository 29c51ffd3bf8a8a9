import { Anchor, Badge, Code, DataList, Group, Stack, Text, Title, useMatches } from '@mantine/core';
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { CopyIcon } from '../../components/CopyField';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { formatBytes, formatDateTime, shortDigest } from '../../lib/format';
import { artifactPath } from '../../lib/paths';
import { ArtifactIcon } from '../repository/ArtifactIcon';
import { isIndex, isNever, keys, platformText, repositoryApi, typeLabel, type Artifact, type Reference } from '../repository/model';
import { TimeText } from '../repository/parts';

type Json = Record<string, unknown>;

function Field({ label, children }: { label: string; children: ReactNode }) {
  if (children === null || children === undefined || children === '' || children === false) return null;
  return (
    <DataList.Item>
      <DataList.ItemLabel>{label}</DataList.ItemLabel>
      <DataList.ItemValue style={{ overflowWrap: 'anywhere', minWidth: 0 }}>{children}</DataList.ItemValue>
    </DataList.Item>
  );
}

function Facts({ children, vertical = false }: { children: ReactNode; vertical?: boolean }) {
  // On a phone, each value goes under its label.
  const narrow = useMatches({ base: true, xs: false });
  return (
    <DataList labelWidth={150} gap="xs" orientation={vertical || narrow ? 'vertical' : 'horizontal'}>
      {children}
    </DataList>
  );
}

/** A part of the overview, under the page's "Overview" section (h2). */
function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Stack gap="xs">
      <Title order={3} size="h5">
        {title}
      </Title>
      {children}
    </Stack>
  );
}

const str = (value: unknown): string | null =>
  typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : null;

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v !== '') : [];
}

function Mono({ children }: { children: ReactNode }) {
  return (
    <Text span ff="monospace" size="sm" style={{ overflowWrap: 'anywhere' }}>
      {children}
    </Text>
  );
}

/** Any other value: words for scalars, a list for strings, JSON for the rest. */
function anyValue(value: unknown): ReactNode {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(', ');
  if (typeof value === 'object' && Object.keys(value).length === 0) return null;
  return (
    <Code block style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
      {JSON.stringify(value, null, 2)}
    </Code>
  );
}

function Keywords({ value }: { value: unknown }) {
  const list = strings(value);
  if (list.length === 0) return null;
  return (
    <Group gap={4} wrap="wrap">
      {list.map((k) => (
        <Badge key={k} variant="default" tt="none">
          {k}
        </Badge>
      ))}
    </Group>
  );
}

function Maintainers({ value }: { value: unknown }) {
  if (!Array.isArray(value) || value.length === 0) return null;
  return (
    <Stack gap={2}>
      {(value as Json[]).map((m, i) => {
        const email = str(m.email);
        return (
          <Text size="sm" key={i}>
            {str(m.name) ?? 'Unnamed'}
            {email && (
              <>
                {' '}
                &lt;<Anchor href={`mailto:${email}`}>{email}</Anchor>&gt;
              </>
            )}
          </Text>
        );
      })}
    </Stack>
  );
}

function ExternalLinks({ value }: { value: unknown }) {
  const list = typeof value === 'string' ? [value] : strings(value);
  const links = list.filter((u) => /^https?:\/\//i.test(u));
  if (links.length === 0) return list.length > 0 ? list.join(', ') : null;
  return (
    <Stack gap={2}>
      {links.map((u) => (
        <Anchor key={u} href={u} target="_blank" rel="noopener noreferrer" size="sm">
          {u}
        </Anchor>
      ))}
    </Stack>
  );
}

function ImageFacts({ attrs }: { attrs: Json }) {
  const config = (attrs.config ?? {}) as Json;
  const env = strings(config.Env);
  const labels = Object.entries((config.Labels ?? {}) as Record<string, unknown>);
  const ports = Object.keys((config.ExposedPorts ?? {}) as Json);
  const volumes = Object.keys((config.Volumes ?? {}) as Json);
  const command = (v: unknown) => {
    const list = strings(v);
    return list.length > 0 ? <Mono>{list.join(' ')}</Mono> : null;
  };
  return (
    <Facts>
      <Field label="Platform">{platformText(attrs)}</Field>
      <Field label="Author">{str(attrs.author)}</Field>
      <Field label="Created">{isNever(attrs.created) ? null : formatDateTime(attrs.created as string)}</Field>
      <Field label="Entrypoint">{command(config.Entrypoint)}</Field>
      <Field label="Command">{command(config.Cmd)}</Field>
      <Field label="Working directory">{str(config.WorkingDir) && <Mono>{str(config.WorkingDir)}</Mono>}</Field>
      <Field label="User">{str(config.User) && <Mono>{str(config.User)}</Mono>}</Field>
      <Field label="Exposed ports">{ports.length > 0 && ports.join(', ')}</Field>
      <Field label="Volumes">{volumes.length > 0 && <Mono>{volumes.join(', ')}</Mono>}</Field>
      <Field label="Stop signal">{str(config.StopSignal)}</Field>
      <Field label="Environment">
        {env.length > 0 && (
          <Stack gap={2}>
            {env.map((e) => (
              <Mono key={e}>{e}</Mono>
            ))}
          </Stack>
        )}
      </Field>
      <Field label="Labels">
        {labels.length > 0 && (
          <Stack gap={2}>
            {labels.map(([k, v]) => (
              <Mono key={k}>
                {k}={String(v)}
              </Mono>
            ))}
          </Stack>
        )}
      </Field>
    </Facts>
  );
}

function ChartFacts({ attrs }: { attrs: Json }) {
  return (
    <Facts>
      <Field label="Name">{str(attrs.name)}</Field>
      <Field label="Version">{str(attrs.version)}</Field>
      <Field label="App version">{str(attrs.appVersion)}</Field>
      <Field label="Description">{str(attrs.description)}</Field>
      <Field label="Chart type">{str(attrs.type)}</Field>
      <Field label="API version">{str(attrs.apiVersion)}</Field>
      <Field label="Kubernetes version">{str(attrs.kubeVersion)}</Field>
      <Field label="Deprecated">{attrs.deprecated === true ? 'Yes' : null}</Field>
      <Field label="Home">{attrs.home ? <ExternalLinks value={attrs.home} /> : null}</Field>
      <Field label="Sources">{strings(attrs.sources).length > 0 ? <ExternalLinks value={attrs.sources} /> : null}</Field>
      <Field label="Keywords">{strings(attrs.keywords).length > 0 ? <Keywords value={attrs.keywords} /> : null}</Field>
      <Field label="Maintainers">
        {Array.isArray(attrs.maintainers) && attrs.maintainers.length > 0 ? <Maintainers value={attrs.maintainers} /> : null}
      </Field>
    </Facts>
  );
}

function CnabFacts({ attrs }: { attrs: Json }) {
  const invocation = Array.isArray(attrs.invocationImages) ? (attrs.invocationImages as Json[]) : [];
  const parameters = Object.keys((attrs.parameters ?? {}) as Json);
  const credentials = Object.keys((attrs.credentials ?? {}) as Json);
  return (
    <Facts>
      <Field label="Name">{str(attrs.name)}</Field>
      <Field label="Version">{str(attrs.version)}</Field>
      <Field label="Description">{str(attrs.description)}</Field>
      <Field label="Schema version">{str(attrs.schemaVersion)}</Field>
      <Field label="License">{str(attrs.license)}</Field>
      <Field label="Keywords">{strings(attrs.keywords).length > 0 ? <Keywords value={attrs.keywords} /> : null}</Field>
      <Field label="Maintainers">
        {Array.isArray(attrs.maintainers) && attrs.maintainers.length > 0 ? <Maintainers value={attrs.maintainers} /> : null}
      </Field>
      <Field label="Invocation images">
        {invocation.length > 0 && (
          <Stack gap={2}>
            {invocation.map((image, i) => (
              <Mono key={i}>
                {str(image.image) ?? str(image.contentDigest) ?? 'unnamed'}
                {str(image.imageType) ? ` (${str(image.imageType)})` : ''}
              </Mono>
            ))}
          </Stack>
        )}
      </Field>
      <Field label="Parameters">{parameters.length > 0 && parameters.join(', ')}</Field>
      <Field label="Credentials">{credentials.length > 0 && credentials.join(', ')}</Field>
    </Facts>
  );
}

function WasmFacts({ attrs }: { attrs: Json }) {
  const shown = new Set(['architecture', 'os', 'variant', 'author', 'created', 'config']);
  const rest = Object.entries(attrs).filter(([k]) => !shown.has(k));
  return (
    <Facts>
      <Field label="Platform">{platformText(attrs)}</Field>
      <Field label="Author">{str(attrs.author)}</Field>
      <Field label="Created">{isNever(attrs.created) ? null : formatDateTime(attrs.created as string)}</Field>
      <Field label="Configuration">{anyValue(attrs.config)}</Field>
      {rest.map(([k, v]) => (
        <Field key={k} label={k}>
          {anyValue(v)}
        </Field>
      ))}
    </Facts>
  );
}

function OtherFacts({ attrs }: { attrs: Json }) {
  return (
    <Facts>
      {Object.entries(attrs).map(([k, v]) => (
        <Field key={k} label={k}>
          {anyValue(v)}
        </Field>
      ))}
    </Facts>
  );
}

function hasValues(attrs: Json): boolean {
  return Object.entries(attrs).some(
    ([k, v]) =>
      v !== null &&
      v !== undefined &&
      v !== '' &&
      !(typeof v === 'object' && Object.keys(v).length === 0) &&
      !(k === 'created' && isNever(v)),
  );
}

/** cosign's tag scheme names the subject: sha256-<hex>.sig is attached to sha256:<hex>. */
function cosignSubject(artifact: Artifact): string | null {
  for (const tag of artifact.tags ?? []) {
    const match = /^(sha256)-([0-9a-f]{64})\.(?:sig|att|sbom)$/.exec(tag.name);
    if (match) return `${match[1]}:${match[2]}`;
  }
  return null;
}

/** What the artifact's config says, by type. */
function TypeFacts({ artifact }: { artifact: Artifact }) {
  const attrs = artifact.extra_attrs ?? {};
  if (isIndex(artifact) && artifact.type === 'IMAGE') return null;
  if (!hasValues(attrs)) return null;
  switch (artifact.type) {
    case 'IMAGE':
      return (
        <Section title="Image">
          <ImageFacts attrs={attrs} />
        </Section>
      );
    case 'CHART':
      return (
        <Section title="Chart">
          <ChartFacts attrs={attrs} />
        </Section>
      );
    case 'CNAB':
      return (
        <Section title="Bundle">
          <CnabFacts attrs={attrs} />
        </Section>
      );
    case 'WASM':
      return (
        <Section title="WebAssembly module">
          <WasmFacts attrs={attrs} />
        </Section>
      );
    default:
      return (
        <Section title="Attributes">
          <OtherFacts attrs={attrs} />
        </Section>
      );
  }
}

interface ChildRow {
  reference: Reference;
  child: Artifact | undefined;
}

/** The manifests an index lists, a page at a time, with their sizes from one list request. */
function Children({ project, repository, artifact }: { project: string; repository: string; artifact: Artifact }) {
  const references = artifact.references ?? [];
  const withPlatforms = references.some((r) => platformText(r.platform) !== null);

  async function fetchPage({ page, pageSize, search }: TableRequest) {
    const needle = search.toLowerCase();
    const matching = references.filter(
      (r) =>
        !needle ||
        r.child_digest.includes(needle) ||
        (platformText(r.platform) ?? '').toLowerCase().includes(needle) ||
        Object.values(r.annotations ?? {}).some((v) => v.toLowerCase().includes(needle)),
    );
    const slice = matching.slice((page - 1) * pageSize, page * pageSize);
    let children: Artifact[] = [];
    if (slice.length > 0) {
      const answer = await api.list<Artifact>(`${repositoryApi(project, repository)}/artifacts`, {
        page: 1,
        pageSize: slice.length,
        q: `base=*,digest={${slice.map((r) => r.child_digest).join(' ')}}`,
        with_tag: false,
      });
      children = answer.items;
    }
    const byDigest = new Map(children.map((c) => [c.digest, c]));
    return { items: slice.map((reference) => ({ reference, child: byDigest.get(reference.child_digest) })), total: matching.length };
  }

  const columns: Column<ChildRow>[] = [
    {
      key: 'type',
      header: 'Type',
      width: 56,
      visibleFrom: 'xs',
      render: ({ child }) =>
        child ? <ArtifactIcon icon={child.icon} type={child.type} index={isIndex(child)} label={typeLabel(child)} size={24} /> : null,
    },
    {
      key: 'digest',
      header: 'Digest',
      render: ({ reference }) => (
        <Anchor component={Link} to={artifactPath(project, repository, reference.child_digest)} ff="monospace" size="sm">
          {shortDigest(reference.child_digest)}
        </Anchor>
      ),
    },
    {
      key: 'platform',
      header: withPlatforms ? 'Platform' : 'Role',
      render: ({ reference }) =>
        platformText(reference.platform) ??
        (reference.annotations?.['io.cnab.manifest.type'] ? `CNAB ${reference.annotations['io.cnab.manifest.type']}` : '—'),
    },
    {
      key: 'size',
      header: 'Size',
      render: ({ child }) => (
        <Text size="sm" span style={{ whiteSpace: 'nowrap' }}>
          {child ? formatBytes(child.size) : '—'}
        </Text>
      ),
    },
  ];

  return (
    <Section title={withPlatforms ? 'Platforms' : 'Manifests'}>
      <DataTable
        label={withPlatforms ? 'Platforms' : 'Manifests'}
        queryKey={[...keys.artifact(project, repository), artifact.digest, 'children']}
        fetchPage={fetchPage}
        columns={columns}
        rowKey={(row) => row.reference.child_digest}
        searchLabel={references.length > 10 ? 'Search platforms' : undefined}
        emptyText="This index lists no manifests."
        defaultPageSize={10}
      />
    </Section>
  );
}

export function OverviewPanel({ project, repository, artifact }: { project: string; repository: string; artifact: Artifact }) {
  const annotations = Object.entries(artifact.annotations ?? {});
  const subject = cosignSubject(artifact);
  return (
    <Stack gap="lg">
      <Facts>
        <Field label="Digest">
          <Group gap={4} wrap="nowrap" align="center">
            <Mono>{artifact.digest}</Mono>
            <CopyIcon value={artifact.digest} label="Copy digest" />
          </Group>
        </Field>
        <Field label="Type">
          {typeLabel(artifact)} ({artifact.type})
        </Field>
        <Field label="Media type">
          <Mono>{artifact.media_type}</Mono>
        </Field>
        <Field label="Manifest media type">
          <Mono>{artifact.manifest_media_type}</Mono>
        </Field>
        {artifact.artifact_type && artifact.artifact_type !== artifact.media_type && (
          <Field label="Artifact type">
            <Mono>{artifact.artifact_type}</Mono>
          </Field>
        )}
        <Field label="Attached to">
          {subject && (
            <Anchor component={Link} to={artifactPath(project, repository, subject)} ff="monospace" size="sm">
              {shortDigest(subject)}
            </Anchor>
          )}
        </Field>
        <Field label="Size">{formatBytes(artifact.size)}</Field>
        <Field label="Pushed">
          {formatDateTime(artifact.push_time)} (<TimeText time={artifact.push_time} />)
        </Field>
        <Field label="Last pulled">
          {isNever(artifact.pull_time) ? (
            'never'
          ) : (
            <>
              {formatDateTime(artifact.pull_time)} (<TimeText time={artifact.pull_time} />)
            </>
          )}
        </Field>
      </Facts>
      {isIndex(artifact) && <Children project={project} repository={repository} artifact={artifact} />}
      <TypeFacts artifact={artifact} />
      {annotations.length > 0 && (
        <Section title="Annotations">
          <Facts vertical>
            {annotations.map(([k, v]) => (
              <Field key={k} label={k}>
                <Mono>{v}</Mono>
              </Field>
            ))}
          </Facts>
        </Section>
      )}
    </Stack>
  );
}
