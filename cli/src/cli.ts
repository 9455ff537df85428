/**
 * Runs one CLI command: resolves addresses and the admin token, builds the clients, and turns
 * any failure into one sentence on stderr and a non-zero exit status.
 */
// One module, not @nst/runtime's index (see settings.ts: it would cost ~0.9 s per call).
import { readAdminTokenFile } from '@nst/runtime/admin-token';
import type { CliContext } from './context';
import { CliError, releaseEndpoint, styleEndpoint, trainerEndpoint } from './grpc';
import { RequestHistory, stateDir } from './history';
import { loadCliSettings } from './settings';

export interface GlobalOptions {
  styleAddr?: string;
  trainerAddr?: string;
  releaseAddr?: string;
  token?: string;
}

export type CliAction = (ctx: CliContext) => Promise<void>;

export async function runCli(options: GlobalOptions, action: CliAction): Promise<void> {
  const settings = loadCliSettings();
  const styleAddress = options.styleAddr ?? settings.styleAddress;
  const trainerAddress = options.trainerAddr ?? settings.trainerAddress;
  const style = styleEndpoint(styleAddress);
  const trainer = trainerEndpoint(trainerAddress);
  const release = releaseEndpoint(options.releaseAddr ?? settings.releaseAddress);
  const ctx: CliContext = {
    style,
    trainer,
    release,
    // || rather than ??: an empty flag or variable means "not given".
    token: options.token || settings.adminToken || (await readAdminTokenFile(settings.dataDir)),
    history: new RequestHistory(stateDir()),
    print: (line) => process.stdout.write(`${line}\n`),
    note: (line) => process.stderr.write(`${line}\n`),
    interactive: Boolean(process.stderr.isTTY),
  };
  try {
    await action(ctx);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`nst: ${message}\n`);
    process.exitCode = error instanceof CliError ? error.exitCode : 1;
  } finally {
    style.client.close();
    trainer.client.close();
    release.client.close();
  }
}
