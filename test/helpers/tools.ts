import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';

/** Is CI=true set? Then a missing tool is a failure, not a skip. */
export function inCI(): boolean {
  return process.env.CI === 'true';
}

/** The tool's absolute path, or undefined when it is not on PATH. */
export function which(tool: string): string | undefined {
  const result = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { encoding: 'utf8' });
  const found = result.stdout.trim();
  return result.status === 0 && found !== '' ? found : undefined;
}

/**
 * Decides whether tests that drive real tools can run. Returns false when every tool is
 * on PATH (pass it as node:test's `skip` option), or a message naming what is missing.
 * Under CI=true a missing tool is a failure: a failing test saying so is registered in
 * the calling file, and the message is still returned so the dependent tests skip.
 *
 *   const skip = requireTools('skopeo');
 *   describe('skopeo', { skip }, () => { ... });
 */
export function requireTools(...tools: string[]): false | string {
  const missing = tools.filter((tool) => which(tool) === undefined);
  if (missing.length === 0) return false;
  // Each tool the tests drive is in the Debian package of the same name.
  return environmentLimit(`needs ${missing.join(', ')} on PATH (apt-get install ${missing.join(' ')})`);
}

/**
 * Checks that an installed tool actually works here by running it once (synchronously, so
 * the result can be a `skip` option). Returns false when it exits 0; otherwise reports an
 * environment limit that quotes the tool's own error.
 */
export function requireWorking(what: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): false | string {
  const result = spawnSync(command, args, { encoding: 'utf8', env, timeout: 60_000 });
  if (result.status === 0) return false;
  const error = (result.error?.message ?? result.stderr ?? '').trim() || `exit ${result.status ?? result.signal}`;
  return environmentLimit(`${command} is installed but ${what} fails here: \`${command} ${args.join(' ')}\` said: ${error}`);
}

/**
 * Reports something the environment lacks (a tool, a kernel feature): a skip message
 * locally, and under CI=true a registered failing test, since CI must have everything.
 */
export function environmentLimit(message: string): string {
  if (inCI()) {
    test(`environment: ${message}`, () => {
      throw new Error(`CI=true, so this is a failure: ${message}`);
    });
  }
  return message;
}

export interface ToolResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs a tool to completion without a shell. Resolves with its output when it exits 0;
 * otherwise rejects with an error holding the command line, exit code and stderr.
 */
export function runTool(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      if (code === 0) return resolve(result);
      const tail = result.stderr.length > 6000 ? `…${result.stderr.slice(-6000)}` : result.stderr;
      const error = new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}:\n${tail}`) as Error & ToolResult;
      Object.assign(error, result);
      reject(error);
    });
  });
}
