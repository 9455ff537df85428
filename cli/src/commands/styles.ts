import type { CliContext } from '../context';
import { table } from '../format';
import { unary } from '../grpc';

/** `nst styles`: every style with its latest version. */
export async function listStyles(ctx: CliContext): Promise<void> {
  const { styles } = await unary(ctx.style, ctx.style.client.listStyles, {});
  if (styles.length === 0) {
    ctx.print('No styles are registered yet. Train one with `nst train <painting> --name <id>`.');
    return;
  }
  ctx.print(
    table(
      ['style', 'name', 'latest', 'versions', 'description'],
      styles.map((s) => [s.id, s.displayName, s.latestVersion || '-', String(s.versions.length), s.description]),
    ),
  );
}
