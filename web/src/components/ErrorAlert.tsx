import { Alert } from '@mantine/core';
import { errorText } from '../api/client';

export function ErrorAlert({ error, title }: { error: unknown; title?: string }) {
  return (
    <Alert color="red" title={title ?? 'Something went wrong'} role="alert">
      {errorText(error)}
    </Alert>
  );
}
