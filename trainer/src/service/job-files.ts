/** File names inside a job's folder (`<jobs>/<id>/`). */
export const JOB_FILES = {
  /** The record itself. */
  record: 'job.json',
  /** The style image the job trains against (the normalised painting, or the style's image). */
  styleImage: 'style-image.jpg',
  /** For fine-tunes: the weights of the base version. */
  baseWeights: 'base-weights.bin',
  /** The frozen photo set. */
  photos: 'photos',
  /** Feedback ids whose photos joined the set. */
  feedbackIds: 'feedback-ids.json',
  checkpoint: 'checkpoint',
} as const;
