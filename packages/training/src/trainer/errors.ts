/** A non-finite loss or gradient norm: training stopped before the update was applied. */
export class NonFiniteLossError extends Error {
  override readonly name = 'NonFiniteLossError';
  constructor(
    /** The update that failed (1-based; the trainer's state is still that of `step − 1`). */
    readonly step: number,
    readonly loss: number,
    readonly gradNorm: number,
    /** The last checkpoint written (untouched), if any. */
    readonly lastCheckpoint?: string,
  ) {
    const what = Number.isFinite(loss) ? `gradient norm is ${gradNorm} (loss ${loss})` : `loss is ${loss}`;
    super(
      `${what} at step ${step}; training stopped without applying the update` +
        (lastCheckpoint ? `, the last checkpoint ${lastCheckpoint} is untouched` : ' (no checkpoint was written)'),
    );
  }
}

/** An invalid trainer config; `field` is the offending field. */
export class TrainerConfigError extends Error {
  override readonly name = 'TrainerConfigError';
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`invalid trainer config: ${field}: ${detail}`);
  }
}
