import { randomUUID } from 'node:crypto';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function newUploadId(): string {
  return randomUUID();
}

/** Upload ids become file names: only our own uuid shape is accepted. */
export function isUploadId(value: string): boolean {
  return uuidPattern.test(value);
}
