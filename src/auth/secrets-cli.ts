import type { Secrets } from './secret-box.js';

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Exit codes of `berth secrets rotate` (2, a bad option or configuration, is main.ts's). */
export const rotateExit = { done: 0, failed: 3 } as const;

/**
 * `berth secrets rotate`: every stored secret (each feature that keeps some registers its
 * resealer) sealed again with secrets.encryption_key. Secrets already sealed with it are left
 * as they are, so the command may run again after a failure, or on several instances at once.
 * The caller (main.ts) assembles Berth and closes it after.
 */
export async function runSecretsRotate(berth: { secrets: Secrets }, options: { json?: boolean }, output: Output): Promise<number> {
  try {
    const results = await berth.secrets.rotate();
    if (options.json) {
      output.out(JSON.stringify({ key_id: berth.secrets.box.keyId, resealed: results }));
    } else {
      output.out(`current key: ${berth.secrets.box.keyId}`);
      for (const { name, resealed } of results) output.out(`${name}: ${resealed} secret(s) sealed again`);
    }
    return rotateExit.done;
  } catch (err) {
    output.err(`berth secrets rotate: ${(err as Error).message}`);
    return rotateExit.failed;
  }
}
