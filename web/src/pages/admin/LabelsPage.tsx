import { ActionIcon, Badge, Button, ColorInput, Group, Modal, Stack, Text, TextInput, Title, Tooltip } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { IconPencil, IconPlus, IconTrash } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import { api, segment } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { formatDateTime } from '../../lib/format';
import { notifyDone } from '../../lib/notify';
import { usePageTitle } from '../../lib/title';
import { placeError } from '../account/forms';
import { SubmitError, useSubmission } from '../../components/FormDialog';

interface Label {
  id: number;
  name: string;
  description: string;
  color: string;
  scope: string;
  project_id: number;
  creation_time: string;
  update_time: string;
}

/** Harbor's label palette (its portal offers these), as #RRGGBB. */
const swatches = [
  '#000000',
  '#61717D',
  '#737373',
  '#80746D',
  '#FFFFFF',
  '#A9B6BE',
  '#DDDDDD',
  '#BBB3A9',
  '#0065AB',
  '#343DAC',
  '#781DA0',
  '#9B0D54',
  '#0095D3',
  '#9DA3DB',
  '#BE90D6',
  '#F1428A',
  '#1D5100',
  '#006668',
  '#006690',
  '#004A70',
  '#48960C',
  '#00AB9A',
  '#00B7D6',
  '#0081A7',
  '#C92100',
  '#CD3517',
  '#C25400',
  '#D28F00',
  '#F52F52',
  '#FF5501',
  '#F57600',
  '#FFDC0B',
];

const defaultColor = '#0065AB';
const hexColor = /^#[0-9a-f]{6}$/i;

function luminance(hex: string): number {
  const channel = (i: number) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

/** Black or white, whichever reads better on `hex` (either gives at least 4.5:1 there). */
function textOn(hex: string): string {
  const l = luminance(hex);
  return (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? '#000000' : '#FFFFFF';
}

/** A label as a badge in its own color; a label without a (valid) color is plain gray. */
export function LabelBadge({ name, color }: { name: string; color: string }) {
  if (!hexColor.test(color)) {
    return (
      <Badge color="gray" variant="light" tt="none">
        {name}
      </Badge>
    );
  }
  return (
    <Badge
      variant="filled"
      tt="none"
      styles={{
        root: {
          background: color,
          color: textOn(color),
          border: '1px solid var(--mantine-color-default-border)',
          maxWidth: '100%',
        },
      }}
    >
      {name}
    </Badge>
  );
}

function fetchLabels({ page, pageSize, sort, search }: TableRequest) {
  const text = search.replace(/,/g, ''); // a comma would split q's terms
  return api.list<Label>('/labels', { scope: 'g', page, pageSize, sort, q: text ? `name=~${text}` : undefined });
}

/** Global labels, which any project's artifacts can carry. */
export function LabelsPage() {
  usePageTitle('Labels');
  const client = useQueryClient();
  const [dialog, setDialog] = useState<'create' | 'edit' | 'delete' | null>(null);
  const [target, setTarget] = useState<Label | null>(null);
  const close = () => setDialog(null);
  const open = (kind: 'edit' | 'delete', label: Label) => {
    setTarget(label);
    setDialog(kind);
  };
  // Artifacts show their labels: a renamed, recoloured or deleted label changes them too.
  const refresh = () => Promise.all(['labels', 'artifacts', 'artifact'].map((key) => client.invalidateQueries({ queryKey: [key] })));

  async function create(values: LabelValues) {
    await api.post('/labels', { ...values, scope: 'g' });
    notifyDone(`Label ${values.name} created`);
    await refresh();
    close();
  }

  async function update(label: Label, values: LabelValues) {
    await api.put(`/labels/${segment(label.id)}`, values);
    notifyDone(`Label ${values.name} saved`);
    await refresh();
    close();
  }

  async function remove(label: Label) {
    await api.delete(`/labels/${segment(label.id)}`);
    notifyDone(`Label ${label.name} deleted`);
    await refresh();
  }

  const columns: Column<Label>[] = [
    { key: 'name', header: 'Label', sort: 'name', render: (l) => <LabelBadge name={l.name} color={l.color} /> },
    {
      key: 'description',
      header: 'Description',
      render: (l) =>
        l.description ? (
          <Text size="sm">{l.description}</Text>
        ) : (
          <Text size="sm" c="dimmed">
            —
          </Text>
        ),
    },
    {
      key: 'creation_time',
      header: 'Created',
      sort: 'creation_time',
      visibleFrom: 'sm',
      render: (l) => <Text size="sm">{formatDateTime(l.creation_time)}</Text>,
    },
    {
      key: 'actions',
      header: 'Actions',
      width: 96,
      render: (l) => (
        <Group gap={4} wrap="nowrap">
          <Tooltip label="Edit" withArrow>
            <ActionIcon variant="subtle" color="gray" aria-label={`Edit label ${l.name}`} onClick={() => open('edit', l)}>
              <IconPencil size={16} aria-hidden />
            </ActionIcon>
          </Tooltip>
          <Tooltip label="Delete" withArrow>
            <ActionIcon variant="subtle" color="red" aria-label={`Delete label ${l.name}`} onClick={() => open('delete', l)}>
              <IconTrash size={16} aria-hidden />
            </ActionIcon>
          </Tooltip>
        </Group>
      ),
    },
  ];

  return (
    <Stack>
      <Group justify="space-between" wrap="wrap" gap="sm">
        <Title order={1}>Labels</Title>
        <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setDialog('create')}>
          New label
        </Button>
      </Group>
      <Text c="dimmed" size="sm">
        Global labels can be put on artifacts in every project. Projects may also have labels of their own.
      </Text>
      <DataTable
        label="Labels"
        queryKey={['labels', 'g']}
        fetchPage={fetchLabels}
        columns={columns}
        rowKey={(l) => l.id}
        searchLabel="Search labels"
        defaultSort="name"
        emptyText="No global labels yet."
      />
      <Modal opened={dialog === 'create'} onClose={close} title="New label" centered>
        <LabelForm submitLabel="Create" onSubmit={create} onCancel={close} />
      </Modal>
      <Modal opened={dialog === 'edit'} onClose={close} title={`Edit label ${target?.name ?? ''}`} centered>
        {target && (
          <LabelForm
            initial={{ name: target.name, description: target.description, color: target.color }}
            submitLabel="Save"
            onSubmit={(values) => update(target, values)}
            onCancel={close}
          />
        )}
      </Modal>
      <ConfirmDialog
        opened={dialog === 'delete'}
        onClose={close}
        title={`Delete label ${target?.name ?? ''}?`}
        confirmLabel="Delete"
        onConfirm={() => (target ? remove(target) : Promise.resolve())}
      >
        The label also comes off every artifact that carries it.
      </ConfirmDialog>
    </Stack>
  );
}

interface LabelValues {
  name: string;
  description: string;
  color: string;
}

type LabelField = keyof LabelValues;

const labelErrorRules: Array<[RegExp, LabelField]> = [
  [/^name|already exists|label .* exists/i, 'name'],
  [/^description/i, 'description'],
  [/^color/i, 'color'],
];

function LabelForm({
  initial,
  submitLabel,
  onSubmit,
  onCancel,
}: {
  initial?: LabelValues;
  submitLabel: string;
  onSubmit: (values: LabelValues) => Promise<void>;
  onCancel: () => void;
}) {
  const [values, setValues] = useState<LabelValues>(initial ?? { name: '', description: '', color: defaultColor });
  const [errors, setErrors] = useState<Partial<Record<LabelField, string>>>({});
  const submission = useSubmission();

  function set(field: LabelField, value: string) {
    setValues((v) => ({ ...v, [field]: value }));
    setErrors((e) => ({ ...e, [field]: undefined }));
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    submission.clear();
    const name = values.name.trim();
    const color = values.color.trim().toUpperCase();
    const problems: Partial<Record<LabelField, string>> = {};
    if (!name) problems.name = 'Enter a name.';
    if (color && !hexColor.test(color)) problems.color = 'Pick a color, or type one as #RRGGBB.';
    setErrors(problems);
    if (Object.keys(problems).length > 0) return;
    await submission.run(
      async () => {
        await onSubmit({ name, description: values.description.trim(), color });
      },
      (err) => {
        const placed = placeError(err, labelErrorRules);
        if (placed.field) setErrors({ [placed.field]: placed.message });
        else return placed.message;
        return null;
      },
    );
  }

  return (
    <form onSubmit={submit} noValidate>
      <Stack>
        <SubmitError error={submission.error} />
        <TextInput
          label="Name"
          required
          maxLength={128}
          value={values.name}
          onChange={(e) => set('name', e.currentTarget.value)}
          error={errors.name}
          data-autofocus
        />
        <TextInput
          label="Description"
          value={values.description}
          onChange={(e) => set('description', e.currentTarget.value)}
          error={errors.description}
        />
        <ColorInput
          label="Color"
          description="Pick a swatch or type a color as #RRGGBB"
          format="hex"
          swatches={swatches}
          swatchesPerRow={8}
          withEyeDropper={false}
          // Swatches only: ColorInput gives its picker's sliders no accessible names.
          withPicker={false}
          closeOnColorSwatchClick
          value={values.color}
          onChange={(value) => set('color', value)}
          error={errors.color}
          popoverProps={{ withinPortal: true }}
        />
        <Group gap="xs">
          <Text size="sm" c="dimmed">
            Preview:
          </Text>
          <LabelBadge name={values.name.trim() || 'label'} color={values.color} />
        </Group>
        <Group justify="flex-end" gap="sm" mt="xs">
          <Button variant="default" onClick={onCancel}>
            Cancel
          </Button>
          <Button type="submit" loading={submission.busy}>
            {submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
