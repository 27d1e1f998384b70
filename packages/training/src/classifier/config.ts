/**
 * The config of an {@link ImageClassifier}, stored as `config.json` beside its
 * `weights.safetensors` (the layout of a model folder, see @nfdm/models' saveModel):
 *
 *   {
 *     "format": "nfdm-classifier/1",
 *     "image": { "height": 14, "width": 14, "channels": 1 },
 *     "classes": 10,
 *     "channels": [16, 32, 32],      conv blocks: 3×3, stride 1 for the first, 2 for the others
 *     "groups": 4,                   GroupNorm groups of every block (must divide its width)
 *     "features": 64,                width of the penultimate (feature) layer
 *     "seed": 0                      initial weights: Rng(seed)
 *   }
 *
 * Parsing reports the first bad field as a {@link ModelConfigError} naming it.
 */
import { type ConfigObject, configKeys, configObject, describeValue, ModelConfigError } from '@nfdm/models';

export const CLASSIFIER_FORMAT = 'nfdm-classifier/1';

/** [height, width, channels] of the images a classifier reads (rows of h·w·c values, NHWC order). */
export interface ClassifierImage {
  height: number;
  width: number;
  channels: number;
}

export interface ClassifierConfig {
  format: typeof CLASSIFIER_FORMAT;
  image: ClassifierImage;
  classes: number;
  /** Output channels of the conv blocks (first stride 1, then stride 2 each). */
  channels: number[];
  groups: number;
  features: number;
  seed: number;
}

/** The architecture fields that have defaults. */
export const CLASSIFIER_DEFAULTS = { channels: [16, 32, 32], groups: 4, features: 64, seed: 0 } as const;

/** A config from the required fields plus any overrides, validated. */
export function classifierConfig(
  input: { image: ClassifierImage; classes: number } & Partial<Pick<ClassifierConfig, 'channels' | 'groups' | 'features' | 'seed'>>,
): ClassifierConfig {
  return parseClassifierConfig({
    format: CLASSIFIER_FORMAT,
    image: input.image,
    classes: input.classes,
    channels: input.channels ?? [...CLASSIFIER_DEFAULTS.channels],
    groups: input.groups ?? CLASSIFIER_DEFAULTS.groups,
    features: input.features ?? CLASSIFIER_DEFAULTS.features,
    seed: input.seed ?? CLASSIFIER_DEFAULTS.seed,
  });
}

function positiveInt(obj: ConfigObject, key: string, field: string, min = 1): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw new ModelConfigError(`${field}${key}`, `expected an integer ≥ ${min}, ${describeValue(v)}`);
  return v;
}

/** Validate raw JSON as a {@link ClassifierConfig} (unknown fields and bad values name the field). */
export function parseClassifierConfig(raw: unknown): ClassifierConfig {
  const obj = configObject(raw, 'classifier');
  if (obj.format !== CLASSIFIER_FORMAT)
    throw new ModelConfigError('format', `expected "${CLASSIFIER_FORMAT}" (an nfdm image classifier), ${describeValue(obj.format)}`);
  configKeys(obj, ['format', 'image', 'classes', 'channels', 'groups', 'features', 'seed'], 'classifier');
  const img = configObject(obj.image, 'image');
  configKeys(img, ['height', 'width', 'channels'], 'image');
  const image = {
    height: positiveInt(img, 'height', 'image.'),
    width: positiveInt(img, 'width', 'image.'),
    channels: positiveInt(img, 'channels', 'image.'),
  };
  const classes = positiveInt(obj, 'classes', '', 2);
  const channels = obj.channels;
  if (!Array.isArray(channels) || channels.length === 0 || channels.some((c) => !Number.isSafeInteger(c) || c < 1))
    throw new ModelConfigError('channels', `expected a non-empty array of positive integer widths, ${describeValue(channels)}`);
  const groups = positiveInt(obj, 'groups', '');
  const bad = (channels as number[]).find((c) => c % groups !== 0);
  if (bad !== undefined) throw new ModelConfigError('groups', `${groups} groups do not divide a block of ${bad} channels`);
  const features = positiveInt(obj, 'features', '');
  const seed = obj.seed;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0)
    throw new ModelConfigError('seed', `expected an integer ≥ 0, ${describeValue(seed)}`);
  return { format: CLASSIFIER_FORMAT, image, classes, channels: [...(channels as number[])], groups, features, seed };
}

/** Spatial size after the conv blocks: the first keeps it, each later one halves it (rounding up). */
export function finalGrid(config: Pick<ClassifierConfig, 'image' | 'channels'>): { height: number; width: number } {
  let { height, width } = config.image;
  for (let i = 1; i < config.channels.length; i++) {
    height = Math.ceil(height / 2);
    width = Math.ceil(width / 2);
  }
  return { height, width };
}
