import { notifications } from '@mantine/notifications';
import { errorText } from '../api/client';

export function notifyDone(message: string): void {
  notifications.show({ message, color: 'green', autoClose: 4000 });
}

export function notifyError(error: unknown, what?: string): void {
  notifications.show({ title: what ?? 'That did not work', message: errorText(error), color: 'red', autoClose: 8000 });
}
