// "Test connection" in the dialogs that register another system (a registry endpoint, a scanner,
// a preheat instance): the check's state, the button and the answer under it.
import { Alert, Button, Group } from '@mantine/core';
import { useState } from 'react';
import { errorText } from '../api/client';

/** An http:// or https:// address with a host, as the endpoint fields ask for. */
export function isHttpAddress(value: string): boolean {
  return /^https?:\/\/[^\s/]+/.test(value.trim());
}

/** The state of a dialog's connection check: `run` pings, and keeps `okText` or the server's message. */
export function useConnectionTest() {
  const [testing, setTesting] = useState(false);
  const [tested, setTested] = useState<{ ok: boolean; text: string } | null>(null);
  return {
    testing,
    tested,
    clear: () => setTested(null),
    async run(ping: () => Promise<unknown>, okText: string): Promise<void> {
      setTesting(true);
      setTested(null);
      try {
        await ping();
        setTested({ ok: true, text: okText });
      } catch (err) {
        setTested({ ok: false, text: errorText(err) });
      } finally {
        setTesting(false);
      }
    },
  };
}

/**
 * The "Test connection" button and, once tested, whether the connection works; `labels`
 * renames the button and the answers (a webhook's "Send test event").
 */
export function ConnectionTest({
  state,
  onTest,
  labels = { button: 'Test connection', works: 'Connection works', failed: 'Connection failed' },
}: {
  state: ReturnType<typeof useConnectionTest>;
  onTest: () => void;
  labels?: { button: string; works: string; failed: string };
}) {
  return (
    <>
      <Group gap="sm">
        <Button variant="default" onClick={onTest} loading={state.testing}>
          {labels.button}
        </Button>
      </Group>
      {state.tested && (
        <Alert color={state.tested.ok ? 'green' : 'red'} title={state.tested.ok ? labels.works : labels.failed} role="status">
          {state.tested.text}
        </Alert>
      )}
    </>
  );
}
