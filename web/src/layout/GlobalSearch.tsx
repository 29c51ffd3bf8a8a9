import { Anchor, Box, Loader, Popover, Stack, Text, TextInput } from '@mantine/core';
import { useDebouncedValue, useHotkeys } from '@mantine/hooks';
import { IconSearch } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useRef, useState, type KeyboardEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, errorText } from '../api/client';
import { projectPath, repositoryPath, withinProject } from '../lib/paths';

/** GET /search: Harbor's Search (projects and repositories whose name holds the text). */
interface SearchResult {
  project: Array<{ project_id: number; name: string }>;
  repository: Array<{ project_name: string; repository_name: string; artifact_count: number }>;
}

/** At most this many of each kind are listed; the rest is counted. */
const shown = 8;

/**
 * The top bar's search over projects and repositories (`/` focuses it). Results are links;
 * ↓ and ↑ move between them, Enter on the field opens the first, Escape closes the list.
 */
export function GlobalSearch() {
  const navigate = useNavigate();
  const input = useRef<HTMLInputElement>(null);
  const results = useRef<HTMLDivElement>(null);
  const [text, setText] = useState('');
  const [opened, setOpened] = useState(false);
  const [query] = useDebouncedValue(text.trim(), 200);
  useHotkeys([['/', () => input.current?.focus()]]);

  const search = useQuery({
    queryKey: ['search', query],
    enabled: query !== '',
    queryFn: () => api.get<SearchResult>('/search', { q: query }),
    staleTime: 10_000,
  });
  const projects = search.data?.project ?? [];
  const repositories = search.data?.repository ?? [];
  const links = [
    ...projects.slice(0, shown).map((p) => ({ key: `p:${p.name}`, to: projectPath(p.name), label: p.name, kind: 'project' })),
    ...repositories.slice(0, shown).map((r) => ({
      key: `r:${r.repository_name}`,
      to: repositoryPath(r.project_name, withinProject(r.project_name, r.repository_name)),
      label: r.repository_name,
      kind: `repository, ${r.artifact_count} artifact${r.artifact_count === 1 ? '' : 's'}`,
    })),
  ];

  function close() {
    setOpened(false);
  }

  function done() {
    setText('');
    close();
  }

  function linkElements(): HTMLAnchorElement[] {
    return [...(results.current?.querySelectorAll<HTMLAnchorElement>('a[data-search-result]') ?? [])];
  }

  function onFieldKey(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === 'ArrowDown') {
      event.preventDefault();
      setOpened(true);
      linkElements()[0]?.focus();
    } else if (event.key === 'Enter' && links.length > 0 && query === text.trim()) {
      event.preventDefault();
      navigate(links[0].to);
      done();
      input.current?.blur();
    } else if (event.key === 'Escape') {
      close();
    }
  }

  function onResultKey(event: KeyboardEvent<HTMLDivElement>) {
    const all = linkElements();
    const at = all.indexOf(document.activeElement as HTMLAnchorElement);
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const next = at + (event.key === 'ArrowDown' ? 1 : -1);
      if (next < 0) input.current?.focus();
      else all[Math.min(next, all.length - 1)]?.focus();
    } else if (event.key === 'Escape') {
      close();
      input.current?.focus();
    }
  }

  const section = (title: string, count: number, kind: 'project' | 'repository') => {
    const items = links.filter((l) => (kind === 'project' ? l.kind === 'project' : l.kind !== 'project'));
    if (items.length === 0) return null;
    return (
      <Box component="section" aria-label={title}>
        <Text size="xs" fw={700} c="dimmed" tt="uppercase" mb={4}>
          {title}
        </Text>
        <Stack gap={2} component="ul" style={{ listStyle: 'none', margin: 0, padding: 0 }}>
          {items.map((l) => (
            <li key={l.key}>
              <Anchor
                component={Link}
                to={l.to}
                data-search-result
                size="sm"
                onClick={done}
                style={{ display: 'block', overflowWrap: 'anywhere', padding: '2px 4px', borderRadius: 4 }}
              >
                {l.label}
                {kind === 'repository' && (
                  <Text span size="xs" c="dimmed">
                    {' '}
                    · {l.kind.replace(/^repository, /, '')}
                  </Text>
                )}
              </Anchor>
            </li>
          ))}
        </Stack>
        {count > shown && (
          <Text size="xs" c="dimmed" mt={2}>
            and {count - shown} more; type more of the name to narrow the list
          </Text>
        )}
      </Box>
    );
  };

  return (
    <Popover
      opened={opened && query !== ''}
      onChange={setOpened}
      position="bottom-start"
      width="target"
      trapFocus={false}
      returnFocus={false}
      // A search field with a list of links below it, not a combobox: no popup roles on the field.
      withRoles={false}
      withinPortal
      shadow="md"
    >
      <Popover.Target>
        <TextInput
          ref={input}
          type="search"
          aria-label="Search projects and repositories"
          placeholder="Search  ( / )"
          leftSection={<IconSearch size={16} aria-hidden />}
          value={text}
          onChange={(e) => {
            setText(e.currentTarget.value);
            setOpened(true);
          }}
          onFocus={() => setOpened(true)}
          onKeyDown={onFieldKey}
          autoComplete="off"
          style={{ flex: 1, minWidth: 0, maxWidth: 420 }}
        />
      </Popover.Target>
      <Popover.Dropdown p="sm" miw={260}>
        <div ref={results} onKeyDown={onResultKey}>
          <nav aria-label="Search results">
            {search.isPending ? (
              <Loader size="xs" aria-label="Searching" />
            ) : search.isError ? (
              <Text size="sm" c="red">
                {errorText(search.error)}
              </Text>
            ) : links.length === 0 ? (
              <Text size="sm">No project or repository name contains “{query}”.</Text>
            ) : (
              <Stack gap="sm">
                {section('Projects', projects.length, 'project')}
                {section('Repositories', repositories.length, 'repository')}
              </Stack>
            )}
          </nav>
        </div>
      </Popover.Dropdown>
    </Popover>
  );
}
