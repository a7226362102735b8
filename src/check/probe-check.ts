import type { CheckResult, Verdict } from './site-report.js'

/** A check as a probe produces it: the result, and whether waiting could change a failure. */
export interface ProbeCheck extends CheckResult {
  /**
   * True for failures that can turn into a pass by waiting (a first certificate not issued yet, containers
   * still starting, a port not open yet). A failure with `waitable: false` ends the retries at once.
   */
  readonly waitable: boolean
}

export function passed(name: string, reason: string, durationMs: number): ProbeCheck {
  return check(name, 'pass', reason, durationMs, false)
}

export function warned(name: string, reason: string, durationMs: number): ProbeCheck {
  return check(name, 'warn', reason, durationMs, false)
}

/** A failure that waiting cannot change. */
export function failed(name: string, reason: string, durationMs: number): ProbeCheck {
  return check(name, 'fail', reason, durationMs, false)
}

/** A failure that may pass on a later attempt. */
export function failedForNow(name: string, reason: string, durationMs: number): ProbeCheck {
  return check(name, 'fail', reason, durationMs, true)
}

function check(
  name: string,
  verdict: Verdict,
  reason: string,
  durationMs: number,
  waitable: boolean,
): ProbeCheck {
  return { name, verdict, reason, durationMs: Math.round(durationMs), waitable }
}

/** The public shape: without the retry hint. */
export function toCheckResult({ name, verdict, reason, durationMs }: ProbeCheck): CheckResult {
  return { name, verdict, reason, durationMs }
}
