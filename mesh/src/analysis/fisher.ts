/**
 * One-sided Fisher exact test for "the canary is rated worse than stable".
 *
 * Why Fisher rather than the two-proportion z-test: the analysis decides from the first
 * minimum sample (tens of ratings per arm, often with approval near 0 or 1), exactly where the
 * z-test's normal approximation is poor and its p-values too small, which would roll back good
 * canaries. Fisher's test conditions on the margins and sums exact hypergeometric
 * probabilities, so it is valid at any sample size; at the sizes here (up to a few thousand
 * ratings) it costs a few microseconds. Hand-written: it is a short sum of log-factorials, and
 * no well-kept npm package offers the one-sided form without a large statistics dependency.
 */

/** ln(k!) for k = 0..n, exact enough (sums of logs) for n up to millions. */
function logFactorials(n: number): Float64Array {
  const table = new Float64Array(n + 1);
  for (let k = 2; k <= n; k++) table[k] = (table[k - 1] as number) + Math.log(k);
  return table;
}

export interface ApprovalCounts {
  good: number;
  bad: number;
}

/**
 * P(canary would have this few or fewer good ratings | all margins), the one-sided p-value of
 * H1 "canary approval < stable approval". Small means the canary is rated worse.
 * Matches scipy.stats.fisher_exact([[cg, cb], [sg, sb]], alternative='less').
 */
export function fisherExactLess(canary: ApprovalCounts, stable: ApprovalCounts): number {
  const n = canary.good + canary.bad; // canary ratings
  const goods = canary.good + stable.good; // all good ratings
  const total = n + stable.good + stable.bad;
  if (n === 0 || total === n) return 1;
  const lf = logFactorials(total);
  const logChoose = (a: number, b: number): number => (lf[a] as number) - (lf[b] as number) - (lf[a - b] as number);
  const logDenominator = logChoose(total, n);
  const low = Math.max(0, n - (total - goods));
  let p = 0;
  for (let x = low; x <= canary.good; x++) {
    p += Math.exp(logChoose(goods, x) + logChoose(total - goods, n - x) - logDenominator);
  }
  // Rounding can push a certain event a hair above 1.
  return Math.min(1, p);
}
