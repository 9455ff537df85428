/**
 * TrainerService's own settings (the core and the stores' come from @nst/runtime): where the
 * starter styles, jobs, kept photos and training photos are, the feedback-triggered fine-tune,
 * how many jobs run at once, and its metrics port.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CORE_SETTINGS, decimal, metricsPortSetting, setting, settingsGroup, settingsLoader, STORE_SETTINGS, text, underDataDir, wholeNumber } from '@nst/runtime/config';

/** The repository's starter styles, found from this file's location so cwd does not matter. */
export const DEFAULT_STARTER_DIR = fileURLToPath(new URL('../starter-styles', import.meta.url));

export const TRAINER_SETTINGS = settingsGroup('TrainerService (`trainer/src/config.ts`)', {
  starterDir: setting({
    env: 'NST_STARTER_DIR',
    default: DEFAULT_STARTER_DIR,
    defaultDoc: "the repository's `trainer/starter-styles`",
    path: true,
    schema: text,
    description: 'Read-only seed of starter styles, copied into the registry when it lacks them.',
  }),
  keptPhotosDir: setting({
    env: 'NST_KEPT_PHOTOS_DIR',
    ...underDataDir('kept-photos'),
    schema: text,
    description: 'Input photos kept, with consent, for fine-tuning on bad ratings.',
  }),
  jobsDir: setting({
    env: 'NST_JOBS_DIR',
    ...underDataDir('jobs'),
    schema: text,
    description: 'Training and fine-tuning jobs: state, checkpoints, previews.',
  }),
  photosDir: setting({
    env: 'NST_PHOTOS_DIR',
    defaultDoc: "(none: the trainer's starter photos)",
    path: true,
    schema: text,
    description: 'Folder of training photographs (jpg, png, webp).',
  }),
  finetuneMinBad: setting({
    env: 'NST_FINETUNE_MIN_BAD',
    default: '10',
    schema: wholeNumber(1),
    description: 'Fine-tune trigger: bad ratings of a version needed within the window.',
  }),
  finetuneBadRatio: setting({
    env: 'NST_FINETUNE_BAD_RATIO',
    default: '0.3',
    schema: decimal(0, 1),
    description: 'Fine-tune trigger: share of ratings within the window that must be bad (0 to 1).',
  }),
  finetuneWindowMinutes: setting({
    env: 'NST_FINETUNE_WINDOW_MINUTES',
    default: '1440',
    schema: wholeNumber(1),
    description: 'Fine-tune trigger: the window ratings are counted over, in minutes.',
  }),
  finetuneCooldownMinutes: setting({
    env: 'NST_FINETUNE_COOLDOWN_MINUTES',
    default: '360',
    schema: wholeNumber(0),
    description: 'Fine-tune trigger: least time between fine-tunes of one style, in minutes.',
  }),
  finetunePollSeconds: setting({
    env: 'NST_FINETUNE_POLL_SECONDS',
    default: '30',
    schema: wholeNumber(1, 86_400),
    description: 'Fine-tune trigger: how often the trainer looks at the feedback store, in seconds.',
  }),
  trainerConcurrency: setting({
    env: 'NST_TRAINER_CONCURRENCY',
    default: '1',
    schema: wholeNumber(1, 64),
    description: 'Training jobs run at once; more wait in the queue.',
  }),
  trainThreads: setting({
    env: 'NST_TRAIN_THREADS',
    default: 'auto',
    defaultDoc: '`auto`',
    schema: z
      .string()
      .regex(/^(auto|[0-9]+)$/, 'must be auto or a whole number')
      .transform((value) => (value === 'auto' ? 'auto' : Number(value)))
      // 8: MAX_WASM_THREADS (kernels/wasm-threads.ts), not imported so reading settings loads no TF.js.
      .pipe(z.union([z.literal('auto'), z.number().int().min(1, 'must be at least 1').max(8, 'must be at most 8')])),
    description:
      "Threads each training job's WASM backend runs on (at most 8). `auto`: the machine's cores shared out among `NST_TRAINER_CONCURRENCY` jobs. In a container set the pod's CPU request: `auto` counts the node's cores, not the pod's.",
  }),
  jobKeepaliveSeconds: setting({
    env: 'NST_JOB_KEEPALIVE_SECONDS',
    default: '30',
    schema: wholeNumber(1, 3600),
    description:
      "WatchJob resends a job's state after this many seconds without an update (a queued job, a slow step), so proxies that close idle streams (often after 5 minutes) keep the watch open.",
  }),
  trainerMetricsPort: metricsPortSetting('NST_TRAINER_METRICS_PORT', 9462, 'TrainerService'),
});

/** Reads and validates TrainerService's settings (with the core and the stores'); throws ConfigError naming each bad variable. */
export const loadTrainerConfig = settingsLoader([CORE_SETTINGS, STORE_SETTINGS, TRAINER_SETTINGS]);

/** Everything the process reads. */
export type TrainerConfig = ReturnType<typeof loadTrainerConfig>;

/**
 * The WASM threads of one job: NST_TRAIN_THREADS, or with `auto` the cores shared out among the
 * jobs that run at once (2 threads make 1.4-1.5x the steps/s of 1 on an idle 2-core machine,
 * but fewer when another job is busy on the same cores: trainer README).
 */
export function jobThreads(config: Pick<TrainerConfig, 'trainThreads' | 'trainerConcurrency'>, cores = availableParallelism()): number {
  if (config.trainThreads !== 'auto') return config.trainThreads;
  return Math.min(8, Math.max(1, Math.floor(cores / config.trainerConcurrency)));
}
