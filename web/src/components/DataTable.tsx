import {
  Alert,
  Button,
  Checkbox,
  Group,
  Loader,
  Pagination,
  Select,
  Skeleton,
  Table,
  Text,
  TextInput,
  UnstyledButton,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { IconChevronDown, IconChevronUp, IconSearch, IconSelector } from '@tabler/icons-react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useState, type ReactNode } from 'react';
import { errorText, type Page } from '../api/client';
import type { Selection } from './selection';

export interface Column<T> {
  key: string;
  header: string;
  render: (row: T) => ReactNode;
  /** The API's sort key; the header becomes a button that sorts by it. */
  sort?: string;
  /** Hidden on narrow screens below this breakpoint. */
  visibleFrom?: 'xs' | 'sm' | 'md' | 'lg';
  /** Shown only on narrow screens below this breakpoint (a compact stand-in for wider columns). */
  hiddenFrom?: 'xs' | 'sm' | 'md' | 'lg';
  width?: number | string;
}

export interface TableRequest {
  page: number;
  pageSize: number;
  /** `name` or `-name`, or undefined for the server's order. */
  sort?: string;
  /** What the user typed in the search box, trimmed. */
  search: string;
}

export interface DataTableProps<T> {
  /** Accessible name of the table, e.g. "Projects". */
  label: string;
  /** Identifies the data; the table adds its own paging, sort and search to it. */
  queryKey: readonly unknown[];
  fetchPage: (request: TableRequest) => Promise<Page<T>>;
  columns: Column<T>[];
  rowKey: (row: T) => string | number;
  /** Shows a search box with this label. */
  searchLabel?: string;
  /** Filters and buttons shown beside the search box. */
  toolbar?: ReactNode;
  defaultSort?: string;
  emptyText: string;
  defaultPageSize?: number;
  /** Rows can be chosen (a checkbox each, and one for the page) for a bulk action. */
  selection?: Selection<T>;
  /** The row's name in its checkbox's label ("Select <name>"). */
  rowLabel?: (row: T) => string;
  /** Reloads the page shown every so many ms while this answers a number (work under way in a row). */
  refetchInterval?: (page: Page<T> | undefined) => number | false;
}

const pageSizes = ['10', '15', '25', '50', '100'];

function SortIcon({ state }: { state: 'ascending' | 'descending' | 'none' }) {
  const Icon = state === 'ascending' ? IconChevronUp : state === 'descending' ? IconChevronDown : IconSelector;
  return <Icon size={14} aria-hidden />;
}

/** A list the server pages, sorts and filters: only the rows shown are ever loaded. */
export function DataTable<T>(props: DataTableProps<T>) {
  const {
    label,
    queryKey,
    fetchPage,
    columns: ownColumns,
    rowKey,
    searchLabel,
    toolbar,
    defaultSort,
    emptyText,
    selection,
    rowLabel,
    refetchInterval,
  } = props;
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(props.defaultPageSize ?? 15);
  const [sort, setSort] = useState<string | undefined>(defaultSort);
  const [searchInput, setSearchInput] = useState('');
  const [search] = useDebouncedValue(searchInput.trim(), 250);
  useEffect(() => setPage(1), [search, pageSize, sort, JSON.stringify(queryKey)]);

  const request: TableRequest = { page, pageSize, sort, search };
  const query = useQuery({
    queryKey: [...queryKey, request],
    queryFn: () => fetchPage(request),
    placeholderData: keepPreviousData,
    // A list opened again shows what it held at once and asks the server anyway: what changed
    // elsewhere (another user, a script, a job) appears without waiting for the cache to go stale.
    refetchOnMount: 'always',
    refetchInterval: refetchInterval ? (q) => refetchInterval(q.state.data) : undefined,
  });
  const total = query.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / pageSize));

  function toggleSort(key: string) {
    setSort(sort === key ? `-${key}` : sort === `-${key}` ? defaultSort : key);
  }

  const rows = query.data?.items ?? [];
  // The chosen rows as shown now: a bulk action reads their current state.
  useEffect(() => {
    if (selection && query.data) selection.refresh(query.data.items);
  }, [query.data]);
  const chosenOnPage = selection ? rows.filter((row) => selection.has(rowKey(row))).length : 0;
  const columns: Column<T>[] = selection
    ? [
        {
          key: '__select',
          header: '',
          width: 40,
          render: (row) => (
            <Checkbox
              aria-label={`Select ${rowLabel ? rowLabel(row) : String(rowKey(row))}`}
              checked={selection.has(rowKey(row))}
              onChange={(e) => selection.set([row], e.currentTarget.checked)}
            />
          ),
        },
        ...ownColumns,
      ]
    : ownColumns;
  return (
    <div>
      <Group justify="space-between" mb="sm" gap="sm" wrap="wrap">
        <Group gap="sm" wrap="wrap">
          {searchLabel && (
            <TextInput
              aria-label={searchLabel}
              placeholder={searchLabel}
              leftSection={<IconSearch size={16} aria-hidden />}
              value={searchInput}
              onChange={(e) => setSearchInput(e.currentTarget.value)}
              w={260}
            />
          )}
          {query.isFetching && !query.isPending && <Loader size="xs" aria-label="Loading" />}
        </Group>
        {toolbar && (
          <Group gap="sm" wrap="wrap">
            {toolbar}
          </Group>
        )}
      </Group>
      {query.isError ? (
        <Alert color="red" title={`Could not load ${label.toLowerCase()}`} role="alert">
          <Text size="sm">{errorText(query.error)}</Text>
          <Button mt="sm" size="xs" variant="light" color="red" onClick={() => query.refetch()}>
            Try again
          </Button>
        </Alert>
      ) : (
        <Table.ScrollContainer minWidth={340} scrollAreaProps={{ viewportProps: { tabIndex: 0 } }}>
          <Table striped highlightOnHover verticalSpacing="xs" aria-label={label} aria-busy={query.isFetching}>
            <Table.Thead>
              <Table.Tr>
                {columns.map((column) => {
                  const state = !column.sort
                    ? undefined
                    : sort === column.sort
                      ? 'ascending'
                      : sort === `-${column.sort}`
                        ? 'descending'
                        : 'none';
                  return (
                    <Table.Th
                      key={column.key}
                      visibleFrom={column.visibleFrom}
                      hiddenFrom={column.hiddenFrom}
                      w={column.width}
                      aria-sort={state === 'none' ? undefined : state}
                    >
                      {column.key === '__select' && selection ? (
                        <Checkbox
                          aria-label="Select every row on this page"
                          checked={rows.length > 0 && chosenOnPage === rows.length}
                          indeterminate={chosenOnPage > 0 && chosenOnPage < rows.length}
                          disabled={rows.length === 0}
                          onChange={(e) => selection.set(rows, e.currentTarget.checked)}
                        />
                      ) : column.sort ? (
                        <UnstyledButton onClick={() => toggleSort(column.sort!)} fw={700} fz="sm">
                          <Group gap={4} wrap="nowrap">
                            {column.header}
                            <SortIcon state={state!} />
                          </Group>
                        </UnstyledButton>
                      ) : (
                        column.header
                      )}
                    </Table.Th>
                  );
                })}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {query.isPending &&
                Array.from({ length: 3 }, (_, i) => (
                  <Table.Tr key={`skeleton-${i}`}>
                    {columns.map((column) => (
                      <Table.Td key={column.key} visibleFrom={column.visibleFrom} hiddenFrom={column.hiddenFrom}>
                        <Skeleton height={14} />
                      </Table.Td>
                    ))}
                  </Table.Tr>
                ))}
              {!query.isPending && rows.length === 0 && (
                <Table.Tr>
                  <Table.Td colSpan={columns.length}>
                    <Text c="dimmed" ta="center" py="lg">
                      {search ? `Nothing matches “${search}”.` : emptyText}
                    </Text>
                  </Table.Td>
                </Table.Tr>
              )}
              {rows.map((row) => (
                <Table.Tr key={rowKey(row)}>
                  {columns.map((column) => (
                    <Table.Td key={column.key} visibleFrom={column.visibleFrom} hiddenFrom={column.hiddenFrom}>
                      {column.render(row)}
                    </Table.Td>
                  ))}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Group justify="space-between" mt="sm" gap="sm" wrap="wrap">
        <Text size="sm" c="dimmed" aria-live="polite">
          {total === 0 ? 'No items' : `${(page - 1) * pageSize + 1}–${Math.min(page * pageSize, total)} of ${total}`}
        </Text>
        <Group gap="sm">
          <Select
            aria-label="Rows per page"
            data={pageSizes}
            value={String(pageSize)}
            onChange={(value) => value && setPageSize(Number(value))}
            w={80}
            allowDeselect={false}
          />
          {pages > 1 && (
            <Pagination
              total={pages}
              value={page}
              onChange={setPage}
              size="sm"
              getControlProps={(control) => ({ 'aria-label': `${control} page` })}
              getItemProps={(p) => ({ 'aria-label': `Page ${p}` })}
            />
          )}
        </Group>
      </Group>
    </div>
  );
}
