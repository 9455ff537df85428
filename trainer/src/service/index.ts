// TrainerService: the server, its parts, and the CLI-independent client-facing helpers.
export { launchTrainerService, startTrainerServer, TRAINER_SERVICE_NAME } from './trainer-server';
export type { RunningTrainerService, StartedTrainerService, StartTrainerOptions, TrainerServiceOptions } from './trainer-server';
export { FineTuneTrigger, versionsOverThreshold } from './finetune-trigger';
export type { FineTuneThresholds } from './finetune-trigger';
export { JOB_DEFAULTS, resolveHyperparameters } from './hyperparameters';
export { FeedbackStoreReader } from './feedback-adapter';
export { RegistryAdapter } from './registry-adapter';
