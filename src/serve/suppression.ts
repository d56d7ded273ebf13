/** The mark published instead of a figure that rests on too few students (as NYC DOE publishes it). */
export const SUPPRESSED = 's';

/** A published figure: a number, `s` when it rests on too few students, or null when there is none. */
export type Published = number | typeof SUPPRESSED | null;

/**
 * Publishes `value` unless the group it rests on has fewer than `minGroupSize` students, in which case
 * the figure becomes `s`. An unknown group size (null) publishes nothing but an absent value as null.
 */
export function publish(
  value: number | null | undefined,
  students: number | null | undefined,
  minGroupSize: number,
): Published {
  if (value === null || value === undefined) return null;
  if (students === null || students === undefined || students < minGroupSize) return SUPPRESSED;
  return value;
}
