// Small pieces the repository and artifact pages share.
import {
  ActionIcon,
  Anchor,
  Badge,
  Box,
  Breadcrumbs,
  Button,
  Menu,
  Text,
  Title,
  Tooltip,
  Typography,
  type TitleOrder,
} from '@mantine/core';
import { IconBrandDocker, IconChevronDown, IconCopy, IconSteeringWheel, IconTerminal2 } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import Markdown from 'react-markdown';
import { Link } from 'react-router';
import { formatDateTime, formatRelative, shortDigest } from '../../lib/format';
import { notifyDone, notifyError } from '../../lib/notify';
import { isNever, type Artifact, type Label } from './model';

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

function headingLevels(text: string): number {
  let min = 6;
  for (const match of text.matchAll(/^ {0,3}(#{1,6})\s/gm)) min = Math.min(min, match[1].length);
  if (/^[^\n]+\n=+\s*$/m.test(text)) min = 1;
  else if (min > 2 && /^[^\n-][^\n]*\n-{2,}\s*$/m.test(text)) min = 2;
  return min;
}

/**
 * Markdown from a user (a description, a chart's README): headings are moved down so the
 * document's top level becomes `top` (the page keeps its one h1 and its heading order).
 */
export function MarkdownText({ children, top = 3 }: { children: string; top?: TitleOrder }) {
  const shift = top - headingLevels(children);
  const heading = (level: number) =>
    function Heading({ children: content }: { children?: ReactNode }) {
      const order = Math.min(6, Math.max(top, level + shift)) as TitleOrder;
      return <Title order={order}>{content}</Title>;
    };
  return (
    <Typography>
      <Markdown
        components={{
          h1: heading(1),
          h2: heading(2),
          h3: heading(3),
          h4: heading(4),
          h5: heading(5),
          h6: heading(6),
          a: ({ href, children: content }) => (
            <Anchor href={href} target="_blank" rel="noopener noreferrer" style={{ textDecoration: 'underline' }}>
              {content}
            </Anchor>
          ),
        }}
      >
        {children}
      </Markdown>
    </Typography>
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
