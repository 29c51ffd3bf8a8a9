import { Button, Group, List, Modal, Progress, ScrollArea, Stack, Text, ThemeIcon } from '@mantine/core';
import { IconCheck, IconX } from '@tabler/icons-react';
import { useRef, useState, type ReactNode } from 'react';
import { errorText } from '../api/client';

export interface BulkItem {
  key: string | number;
  /** The item's name in the dialog ("library/app", "v1.2 (sha256:ab12…)"). */
  label: string;
}

export interface BulkOutcome {
  key: string | number;
  label: string;
  /** null: done; otherwise why not, in the server's words. */
  error: string | null;
}

export interface BulkDeleteDialogProps<I extends BulkItem> {
  opened: boolean;
  onClose: () => void;
  title: string;
  /** What is being deleted, plural: "artifacts", "repositories". */
  noun: string;
  items: I[];
  /** What the confirmation says beyond the list (what goes with each item). */
  children?: ReactNode;
  /** Deletes one item; a throw is that item's failure, and the others go on. */
  run: (item: I) => Promise<void>;
  /** After the last item (or a stop), with every outcome. */
  onFinished: (outcomes: BulkOutcome[]) => Promise<void> | void;
}

/**
 * One confirmation for many deletions: the list asked about, then a progress bar while they
 * run one after another, then each item's result (deleted, or the server's reason).
 */
export function BulkDeleteDialog<I extends BulkItem>({
  opened,
  onClose,
  title,
  noun,
  items,
  children,
  run,
  onFinished,
}: BulkDeleteDialogProps<I>) {
  const [phase, setPhase] = useState<'confirm' | 'running' | 'done'>('confirm');
  const [outcomes, setOutcomes] = useState<BulkOutcome[]>([]);
  const stopping = useRef(false);

  async function start() {
    setPhase('running');
    stopping.current = false;
    const done: BulkOutcome[] = [];
    setOutcomes([]);
    // One at a time, in the order given: an index before the images it lists, for one.
    for (const item of items) {
      if (stopping.current) break;
      let error: string | null = null;
      try {
        await run(item);
      } catch (err) {
        error = errorText(err);
      }
      done.push({ key: item.key, label: item.label, error });
      setOutcomes([...done]);
    }
    await onFinished(done);
    setPhase('done');
  }

  function close() {
    if (phase === 'running') return;
    setPhase('confirm');
    setOutcomes([]);
    onClose();
  }

  const failed = outcomes.filter((o) => o.error !== null).length;
  const total = items.length;
  const summary =
    phase === 'done'
      ? `${outcomes.length - failed} of ${total} ${noun} deleted${failed > 0 ? `, ${failed} failed` : ''}${outcomes.length < total ? `; stopped before ${total - outcomes.length}` : ''}.`
      : `Deleting ${Math.min(outcomes.length + 1, total)} of ${total} ${noun}…`;

  return (
    <Modal
      opened={opened}
      onClose={close}
      title={title}
      centered
      size="lg"
      closeOnClickOutside={phase !== 'running'}
      withCloseButton={phase !== 'running'}
    >
      <Stack gap="md">
        {phase === 'confirm' ? (
          <>
            <Text size="sm">
              Delete these {total} {noun}? {children} This cannot be undone.
            </Text>
            <ScrollArea.Autosize mah={240} type="auto" offsetScrollbars>
              <List size="sm" spacing={2}>
                {items.map((item) => (
                  <List.Item key={item.key} style={{ overflowWrap: 'anywhere' }}>
                    {item.label}
                  </List.Item>
                ))}
              </List>
            </ScrollArea.Autosize>
          </>
        ) : (
          <>
            <Progress
              value={total === 0 ? 100 : (outcomes.length / total) * 100}
              aria-label={`${outcomes.length} of ${total} ${noun} processed`}
              color={failed > 0 ? 'orange' : 'blue'}
              animated={phase === 'running'}
            />
            <Text size="sm" role="status" aria-live="polite">
              {summary}
            </Text>
            <ScrollArea.Autosize mah={280} type="auto" offsetScrollbars>
              <List size="sm" spacing={4} aria-label="Results">
                {outcomes.map((o) => (
                  <List.Item
                    key={o.key}
                    icon={
                      <ThemeIcon color={o.error ? 'red' : 'green'} size={18} radius="xl" aria-hidden>
                        {o.error ? <IconX size={12} /> : <IconCheck size={12} />}
                      </ThemeIcon>
                    }
                    style={{ overflowWrap: 'anywhere' }}
                  >
                    {o.label}: {o.error ? `not deleted, ${o.error}` : 'deleted'}
                  </List.Item>
                ))}
              </List>
            </ScrollArea.Autosize>
          </>
        )}
        <Group justify="flex-end">
          {phase === 'confirm' && (
            <>
              <Button variant="default" onClick={close}>
                Cancel
              </Button>
              <Button color="red" onClick={start} disabled={total === 0}>
                Delete {total} {noun}
              </Button>
            </>
          )}
          {phase === 'running' && (
            <Button variant="default" onClick={() => (stopping.current = true)}>
              Stop
            </Button>
          )}
          {phase === 'done' && <Button onClick={close}>Done</Button>}
        </Group>
      </Stack>
    </Modal>
  );
}
