// Summaries of repeated measurements: the median says where a scenario stands, min and max how much the
// runs spread. Pure functions; the benchmark (scripts/bench.mjs) and its test use them.

/**
 * @typedef {{ n: number, median: number, min: number, max: number }} Summary
 */

/**
 * The median of the values (the mean of the two middle ones for an even count).
 * @param {readonly number[]} values
 * @returns {number}
 */
export function median(values) {
  if (values.length === 0) throw new Error('median of no values')
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? /** @type {number} */ (sorted[middle])
    : /** @type {number} */ (sorted[middle - 1] + /** @type {number} */ (sorted[middle])) / 2
}

/**
 * @param {readonly number[]} values
 * @returns {Summary}
 */
export function summarize(values) {
  if (values.length === 0) throw new Error('summary of no values')
  return { n: values.length, median: median(values), min: Math.min(...values), max: Math.max(...values) }
}
