import { AppError } from '../lib/errors.js';

/**
 * A tag an immutability rule protects would move or go. On /v2: 412 PROJECTPOLICYVIOLATION
 * with Harbor's registry wording; on /api/v2.0: 412 PRECONDITION with its API wording.
 */
export function immutableTagRefusal(repositoryName: string, tag: string, change: 'moved' | 'deleted'): AppError {
  const short = repositoryName.slice(repositoryName.indexOf('/') + 1);
  return new AppError('PROJECTPOLICYVIOLATION', 412, `Failed to process request due to '${short}:${tag}' configured as immutable.`, {
    onApi: {
      code: 'PRECONDITION',
      message: `the tag ${tag} configured as immutable, cannot be ${change === 'moved' ? 'updated' : 'deleted'}`,
    },
  });
}
