/**
 * `nst`: the command line of the platform. It talks gRPC to StyleService and TrainerService
 * like any other client; addresses and the admin token come from the same configuration the
 * services read (NST_STYLE_ADDR, NST_TRAINER_ADDR, NST_ADMIN_TOKEN, NST_DATA_DIR).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { CliAction, GlobalOptions } from './cli';
import type { FineTuneOptions, TrainOptions } from './commands/jobs';

// Commands load when they run, not when the program is built: gRPC, the generated protos and
// cli-progress cost ~0.3 s that `nst --help` or a mistyped flag should not pay.
const jobs = () => import('./commands/jobs');
const releases = () => import('./commands/releases');

async function runCli(options: GlobalOptions, action: CliAction): Promise<void> {
  return (await import('./cli')).runCli(options, action);
}

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError(`"${value}" is not a whole number.`);
  return parsed;
}

function decimal(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new InvalidArgumentError(`"${value}" is not a number.`);
  return parsed;
}

export function buildProgram(): Command {
  const program = new Command('nst')
    .description('Stylize photos, rate results, and train styles on the neural style transfer platform.')
    .addOption(new Option('--style-addr <host:port>', 'StyleService address').env('NST_STYLE_ADDR'))
    .addOption(new Option('--trainer-addr <host:port>', 'TrainerService address').env('NST_TRAINER_ADDR'))
    .addOption(new Option('--release-addr <host:port>', 'ReleaseService address').env('NST_RELEASE_ADDR'))
    .addOption(new Option('--token <token>', 'admin token for train, finetune, cancel and release changes').env('NST_ADMIN_TOKEN'))
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false });

  const run = (action: CliAction): Promise<void> => runCli(program.opts(), action);
  const training = (command: Command): Command =>
    command
      .option('--steps <n>', 'optimisation steps', integer)
      .option('--batch-size <n>', 'photos per step', integer)
      .option('--image-size <px>', 'side of the square training crops', integer)
      .option('--learning-rate <lr>', 'Adam learning rate', decimal)
      .option('--content-weight <w>', 'weight of the content loss', decimal)
      .option('--style-weight <w>', 'weight of the style loss', decimal)
      .option('--tv-weight <w>', 'weight of the smoothness loss', decimal)
      .option('--seed <n>', 'seed for reproducible runs', integer)
      .addOption(
        new Option('--loss-network <name>', 'features the loss compares: imagenet (the default for new styles; crops of 96 px or more) or random (fast, any crop size)').choices([
          'imagenet',
          'random',
        ]),
      )
      .option('--style-scale <x>', 'painting size relative to the crops (default 2 for new styles)', decimal)
      .addOption(
        new Option(
          '--style-statistic <name>',
          'what of the painting the style loss matches: covariance (the default for new styles: colour and texture) or sliced (strokes and patches, at style weight 5; imagenet only, about 1.2x slower)',
        ).choices(['covariance', 'sliced']),
      )
      .addOption(
        new Option(
          '--style-pooling <name>',
          'what the style statistics describe: image (the default for new styles: every crop shows a little of the whole painting) or batch (the crops together: for paintings of large flat regions, like stained glass or posters)',
        ).choices(['image', 'batch']),
      )
      .option('--no-watch', 'return once the job is queued');

  program
    .command('styles')
    .description('list the styles and their latest versions')
    .action(async () => run(async (ctx) => (await import('./commands/styles')).listStyles(ctx)));

  program
    .command('stylize')
    .description('stylize images (files or folders of images) and write the results to a folder')
    .argument('<inputs...>', 'image files or folders')
    .requiredOption('-s, --style <id>', 'the style to paint with')
    .option('--version <version>', 'pin a version of the style (default: the one the service routes to)')
    .option('-f, --format <format>', 'output format: jpeg, png or webp', 'jpeg')
    .option('-q, --quality <q>', 'output quality 1-100 (JPEG and WebP)', integer)
    .option('--max-dimension <px>', 'shrink larger inputs so the long side is at most this', integer)
    .option('--timeout <seconds>', 'give up on one image after this long', integer, 600)
    .requiredOption('-o, --out <dir>', 'folder for the results')
    .action(async (inputs: string[], options: Record<string, unknown>) =>
      run(async (ctx) =>
        (await import('./commands/stylize')).stylize(ctx, inputs, {
          style: options['style'] as string,
          ...(options['version'] !== undefined ? { version: options['version'] as string } : {}),
          format: options['format'] as string,
          ...(options['quality'] !== undefined ? { quality: options['quality'] as number } : {}),
          ...(options['maxDimension'] !== undefined ? { maxDimension: options['maxDimension'] as number } : {}),
          out: options['out'] as string,
          timeout: options['timeout'] as number,
        }),
      ),
    );

  program
    .command('feedback')
    .description('rate a stylized result (the request id is printed by stylize)')
    .argument('<request-id>', 'the request id from the stylize output')
    .argument('<rating>', 'good or bad')
    .option('-r, --reason <text>', 'what was good or bad about it')
    .option('--consent', 'allow the service to keep the input photo to train on', false)
    .option('--style <id>', 'the style that served it (default: remembered from stylize)')
    .option('--version <version>', 'the version that served it (default: remembered from stylize)')
    .action(async (requestId: string, rating: string, options: Record<string, unknown>) =>
      run(async (ctx) => (await import('./commands/feedback')).submitFeedback(ctx, requestId, rating, options)),
    );

  training(
    program
      .command('train')
      .description('create a new style from a painting and watch it train')
      .argument('<painting>', 'the painting image')
      .requiredOption('-n, --name <id>', 'the new style id: lower-case letters, digits and dashes')
      .option('--display-name <name>', 'the name people see')
      .option('--description <text>', 'one sentence about the look'),
  ).action(async (painting: string, options: Record<string, unknown>) =>
    run(async (ctx) => (await jobs()).train(ctx, painting, options as unknown as TrainOptions)),
  );

  training(
    program
      .command('finetune')
      .description('fine-tune a style version on the photos rated bad plus the regular photos')
      .argument('<style>', 'the style')
      .option('--version <version>', 'the version to start from (default: the latest)')
      .option('-r, --reason <text>', 'why')
      .option('--request-id <id>', 'makes a retry safe: a second finetune with the same id follows the job the first one queued'),
  ).action(async (style: string, options: Record<string, unknown>) =>
    run(async (ctx) => (await jobs()).fineTune(ctx, style, options as unknown as FineTuneOptions)),
  );

  program
    .command('watch')
    .description('follow a job live: step, losses, throughput and ETA')
    .argument('<job-id>')
    .action(async (jobId: string) => run(async (ctx) => (await jobs()).watch(ctx, jobId)));

  program
    .command('jobs')
    .description('list training and fine-tuning jobs, newest first')
    .option('--style <id>', 'only this style')
    .option('--state <state>', 'only jobs in this state (queued, running, succeeded, failed, cancelled)')
    .option('--limit <n>', 'at most this many', integer)
    .action(async (options: Record<string, unknown>) => run(async (ctx) => (await jobs()).listJobs(ctx, options)));

  program
    .command('cancel')
    .description('cancel a queued or running job')
    .argument('<job-id>')
    .action(async (jobId: string) => run(async (ctx) => (await jobs()).cancelJob(ctx, jobId)));

  program
    .command('versions')
    .description('list the versions of a style with their lineage and metrics')
    .argument('<style>')
    .action(async (style: string) => run(async (ctx) => (await jobs()).listVersions(ctx, style)));

  const releaseCommands = program
    .command('releases')
    .description('canary releases: rollouts per style, canary weight, promotion, rollback, decisions')
    .action(async () => run(async (ctx) => (await releases()).listRollouts(ctx)));
  releaseCommands
    .command('list')
    .description('every style: stable and canary version, split, last decision')
    .action(async () => run(async (ctx) => (await releases()).listRollouts(ctx)));
  releaseCommands
    .command('get')
    .description("one style's rollout with live figures per version")
    .argument('<style>')
    .action(async (style: string) => run(async (ctx) => (await releases()).getRollout(ctx, style)));
  releaseCommands
    .command('start')
    .description('start a canary of a registered version (admin)')
    .argument('<style>')
    .argument('<version>')
    .option('--weight <percent>', "initial weight 1-100 (default: the ladder's first step)", integer)
    .action(async (style: string, version: string, options: { weight?: number }) =>
      run(async (ctx) => (await releases()).startCanary(ctx, style, version, options.weight)),
    );
  releaseCommands
    .command('weight')
    .description("set the canary's weight by hand, 0-100 (admin)")
    .argument('<style>')
    .argument('<percent>', 'weight in percent', integer)
    .action(async (style: string, weight: number) => run(async (ctx) => (await releases()).setWeight(ctx, style, weight)));
  releaseCommands
    .command('promote')
    .description('make the canary the stable version now (admin)')
    .argument('<style>')
    .option('-r, --reason <text>', 'recorded with the decision')
    .action(async (style: string, options: { reason?: string }) => run(async (ctx) => (await releases()).promote(ctx, style, options.reason)));
  releaseCommands
    .command('rollback')
    .description('send all traffic back to the stable version (admin)')
    .argument('<style>')
    .option('-r, --reason <text>', 'recorded with the decision')
    .action(async (style: string, options: { reason?: string }) => run(async (ctx) => (await releases()).rollback(ctx, style, options.reason)));
  releaseCommands
    .command('decisions')
    .description('recorded decisions with their checks, newest first')
    .argument('[style]')
    .option('--limit <n>', 'at most this many', integer)
    .action(async (style: string | undefined, options: { limit?: number }) => run(async (ctx) => (await releases()).listDecisions(ctx, style, options.limit)));

  return program;
}

