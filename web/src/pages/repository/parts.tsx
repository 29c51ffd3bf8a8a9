// Small pieces the repository and artifact pages share.
import { ActionIcon, Anchor, Badge, Box, Breadcrumbs, Button, Menu, Skeleton, Text, Tooltip, type TitleOrder } from '@mantine/core';
import {
  IconBrandDocker,
  IconChevronDown,
  IconCopy,
  IconFileDescription,
  IconRosetteDiscountCheck,
  IconSteeringWheel,
  IconTerminal2,
  IconTrash,
} from '@tabler/icons-react';
import { lazy, Suspense, type ReactNode } from 'react';
import { Link } from 'react-router';
import { ActionsMenu } from '../../components/ListParts';
import { formatDateTime, formatRelative, shortDigest } from '../../lib/format';
import { notifyDone, notifyError } from '../../lib/notify';
import { SignatureMark } from '../artifact/SignatureMarks';
import { accessoryLabel, isNever, type Artifact, type Label } from './model';

/** Where the page sits: links up the tree, the last one the page itself. */
export function PageCrumbs({ items }: { items: { label: string; to: string }[] }) {
  return (
    <Box component="nav" aria-label="Breadcrumbs">
      <Breadcrumbs separator="›" separatorMargin={6} style={{ flexWrap: 'wrap', rowGap: 4 }}>
        {items.map((item, i) => (
          <Anchor
            key={item.to}
            component={Link}
            to={item.to}
            size="sm"
            aria-current={i === items.length - 1 ? 'page' : undefined}
            style={{ overflowWrap: 'anywhere' }}
          >
            {item.label}
          </Anchor>
        ))}
      </Breadcrumbs>
    </Box>
  );
}

/** "3 minutes ago", the full time in a tooltip; "never" for a time that did not happen. */
export function TimeText({ time, size = 'sm' }: { time: string | null | undefined; size?: 'xs' | 'sm' | 'md' }) {
  if (isNever(time))
    return (
      <Text size={size} c="dimmed" span>
        never
      </Text>
    );
  return (
    <Tooltip label={formatDateTime(time)} withArrow openDelay={300}>
      <Text size={size} span component="time" dateTime={time!} style={{ whiteSpace: 'nowrap' }}>
        {formatRelative(time)}
      </Text>
    </Tooltip>
  );
}

function channel(hex: string, at: number): number {
  const value = parseInt(hex.slice(at, at + 2), 16) / 255;
  return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
}

/** Black or white, whichever reads better on the colour (WCAG contrast). */
function textOn(color: string): string {
  let hex = color.replace('#', '');
  if (hex.length === 3) hex = [...hex].map((c) => c + c).join('');
  const luminance = 0.2126 * channel(hex, 0) + 0.7152 * channel(hex, 2) + 0.0722 * channel(hex, 4);
  return (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) ? '#000' : '#fff';
}

/** A label in its colour (a neutral badge when it has none). */
export function LabelBadge({ label, rightSection }: { label: Pick<Label, 'name' | 'color' | 'description'>; rightSection?: ReactNode }) {
  const color = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i.test(label.color ?? '') ? label.color : null;
  return (
    <Badge
      variant={color ? 'filled' : 'default'}
      color={color ?? undefined}
      style={color ? { color: textOn(color) } : undefined}
      tt="none"
      title={label.description || undefined}
      rightSection={rightSection}
      pr={rightSection ? 3 : undefined}
    >
      {label.name}
    </Badge>
  );
}

const LazyMarkdownText = lazy(() => import('./MarkdownText').then((m) => ({ default: m.MarkdownText })));

/**
 * Markdown from a user (a description, a chart's README), rendered by a chunk of its own
 * (react-markdown) loaded only where there is Markdown to show.
 */
export function MarkdownText(props: { children: string; top?: TitleOrder }) {
  return (
    <Suspense fallback={<Skeleton height={16} width="60%" aria-label="Loading text" />}>
      <LazyMarkdownText {...props} />
    </Suspense>
  );
}

/** Copies to the clipboard; falls back to a hidden textarea where the Clipboard API is missing (plain http). */
export async function copyText(text: string): Promise<void> {
  if (window.isSecureContext && navigator.clipboard?.writeText) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.setAttribute('aria-hidden', 'true');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  try {
    if (!document.execCommand('copy')) throw new Error('the browser refused to copy');
  } finally {
    area.remove();
  }
}

export async function copyWithNotice(command: string): Promise<void> {
  try {
    await copyText(command);
    notifyDone(`Copied: ${command}`);
  } catch (err) {
    notifyError(err, `Could not copy: ${command}`);
  }
}

export interface PullCommand {
  label: string;
  command: string;
  icon: ReactNode;
}

/** docker/podman pull by the first tag (by digest when untagged), and helm pull for a tagged chart. */
export function pullCommands(project: string, repository: string, artifact: Pick<Artifact, 'digest' | 'type' | 'tags'>): PullCommand[] {
  const name = `${window.location.host}/${project}/${repository}`;
  const tag = artifact.tags?.[0]?.name;
  const ref = tag ? `${name}:${tag}` : `${name}@${artifact.digest}`;
  const commands: PullCommand[] = [
    { label: 'Copy docker pull command', command: `docker pull ${ref}`, icon: <IconBrandDocker size={14} aria-hidden /> },
    { label: 'Copy podman pull command', command: `podman pull ${ref}`, icon: <IconTerminal2 size={14} aria-hidden /> },
  ];
  if (artifact.type === 'CHART' && tag)
    commands.push({
      label: 'Copy helm pull command',
      command: `helm pull oci://${name} --version ${tag}`,
      icon: <IconSteeringWheel size={14} aria-hidden />,
    });
  return commands;
}

/** A menu of pull commands to copy, named after the artifact's first tag or short digest. */
export function PullMenu({
  project,
  repository,
  artifact,
  button = false,
}: {
  project: string;
  repository: string;
  artifact: Pick<Artifact, 'digest' | 'type' | 'tags'>;
  /** A labelled button ("Pull") rather than an icon. */
  button?: boolean;
}) {
  const name = artifact.tags?.[0]?.name ?? shortDigest(artifact.digest);
  const label = `Pull commands for ${name}`;
  return (
    <Menu position="bottom-end" withinPortal shadow="md">
      <Menu.Target>
        {button ? (
          <Button
            variant="default"
            aria-label={label}
            leftSection={<IconCopy size={16} aria-hidden />}
            rightSection={<IconChevronDown size={14} aria-hidden />}
          >
            Pull
          </Button>
        ) : (
          <ActionIcon variant="subtle" color="gray" aria-label={label}>
            <IconCopy size={16} aria-hidden />
          </ActionIcon>
        )}
      </Menu.Target>
      <Menu.Dropdown>
        <Menu.Label>Pull {name}</Menu.Label>
        {pullCommands(project, repository, artifact).map((c) => (
          <Menu.Item key={c.label} leftSection={c.icon} onClick={() => void copyWithNotice(c.command)}>
            {c.label}
          </Menu.Item>
        ))}
      </Menu.Dropdown>
    </Menu>
  );
}

/**
 * An artifact row's actions in one menu (a phone's width): the pull commands to copy and,
 * when `onDelete` is given, Delete.
 */
export function RowMenu({
  project,
  repository,
  artifact,
  onDelete,
  hiddenFrom,
  extra,
}: {
  project: string;
  repository: string;
  artifact: Pick<Artifact, 'digest' | 'type' | 'tags'>;
  onDelete?: () => void;
  hiddenFrom?: 'xs' | 'sm' | 'md';
  /** More items (Menu.Item) after the pull commands. */
  extra?: ReactNode;
}) {
  const name = artifact.tags?.[0]?.name ?? shortDigest(artifact.digest);
  return (
    <Box hiddenFrom={hiddenFrom}>
      <ActionsMenu label={`Actions for ${name}`}>
        <Menu.Label>{name}</Menu.Label>
        {pullCommands(project, repository, artifact).map((c) => (
          <Menu.Item key={c.label} leftSection={c.icon} onClick={() => void copyWithNotice(c.command)}>
            {c.label}
          </Menu.Item>
        ))}
        {extra}
        {onDelete && (
          <>
            <Menu.Divider />
            <Menu.Item color="red" leftSection={<IconTrash size={14} aria-hidden />} onClick={onDelete}>
              Delete artifact
            </Menu.Item>
          </>
        )}
      </ActionsMenu>
    </Box>
  );
}

/** What an artifact's accessories say about it: signed (a signature accessory), and with an SBOM. */
export function accessoryMarks(accessories: Artifact['accessories']): { signed: string[]; sbom: string[] } {
  const types = (accessories ?? []).map((a) => a.type);
  return {
    signed: types.filter((t) => t.startsWith('signature.')),
    sbom: types.filter((t) => t === 'sbom' || t === 'sbom.harbor'),
  };
}

/** "Signed" and "SBOM" marks for an artifact that has such accessories (nothing otherwise). */
export function AccessoryMarks({ artifact }: { artifact: Pick<Artifact, 'accessories' | 'signatures'> }) {
  const { signed, sbom } = accessoryMarks(artifact.accessories);
  const kinds = (types: string[]) => [...new Set(types.map(accessoryLabel))].join(', ');
  if (signed.length === 0 && sbom.length === 0) return null;
  return (
    <>
      {signed.length > 0 && artifact.signatures?.length ? <SignatureMark signatures={artifact.signatures} /> : null}
      {signed.length > 0 && !artifact.signatures?.length && (
        <Badge
          variant="light"
          color="teal"
          tt="none"
          leftSection={<IconRosetteDiscountCheck size={12} aria-hidden />}
          title={`Signed: ${kinds(signed)}`}
          styles={{ label: { overflow: 'visible' } }}
        >
          signed
        </Badge>
      )}
      {sbom.length > 0 && (
        <Badge
          variant="light"
          color="grape"
          tt="none"
          leftSection={<IconFileDescription size={12} aria-hidden />}
          title={`Has a software bill of materials: ${kinds(sbom)}`}
          styles={{ label: { overflow: 'visible' } }}
        >
          SBOM
        </Badge>
      )}
    </>
  );
}
