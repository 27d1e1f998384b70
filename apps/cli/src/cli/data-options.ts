/** The choices of how a table is prepared for training (shared by the flags, settings and data). */

/** How a table's standardisation is fitted: column mean / std, or median / (0.7413 · IQR). */
export const STANDARDIZE_METHODS = ['mean-std', 'robust'] as const;
export type StandardizeMethod = (typeof STANDARDIZE_METHODS)[number];

/** What training does with table rows holding extreme values (see findExtremeRows). */
export const OUTLIER_POLICIES = ['refuse', 'drop', 'keep'] as const;
export type OutlierPolicy = (typeof OUTLIER_POLICIES)[number];
