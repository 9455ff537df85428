/** What every command gets: where the services are, the admin token, and where to print. */
import type { ReleaseServiceClient, StyleServiceClient, TrainerServiceClient } from '@nst/proto';
import type { Endpoint } from './grpc';
import type { RequestHistory } from './history';

export interface CliContext {
  style: Endpoint<StyleServiceClient>;
  trainer: Endpoint<TrainerServiceClient>;
  release: Endpoint<ReleaseServiceClient>;
  /** The admin token from --token, NST_ADMIN_TOKEN or the data folder's admin-token file. */
  token: string | undefined;
  history: RequestHistory;
  /** Writes one line of results to stdout. */
  print(line: string): void;
  /** Writes one line of diagnostics to stderr. */
  note(line: string): void;
  /** True when stderr is a terminal (progress bars are drawn only then). */
  interactive: boolean;
}
