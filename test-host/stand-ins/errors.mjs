// How a stand-in says no: an error with the exit code the caller sees and, for the test's records,
// whether the call was unknown to the stand-in or forbidden (it would destroy data).

export class StandInError extends Error {
  /**
   * @param {string} message what the caller sees on stderr
   * @param {number} exitCode
   * @param {'unknown' | 'forbidden' | undefined} [kind]
   */
  constructor(message, exitCode, kind) {
    super(message)
    this.exitCode = exitCode
    this.kind = kind
  }
}

/** Exit code of a call the stand-in does not know. */
export const UNKNOWN_EXIT = 98
/** Exit code of a call that would remove data. */
export const FORBIDDEN_EXIT = 99

/**
 * A call this stand-in does not play: loud, so a deploy never passes on a command nobody checked.
 * @param {string} command the whole command line
 * @param {string} [why]
 */
export function unknownCall(command, why) {
  return new StandInError(
    `test host stand-in: \`${command}\` is not a call this stand-in knows${why ? ` (${why})` : ''}. ` +
      'Teach it in test-host/stand-ins/ if the deploy really needs it.',
    UNKNOWN_EXIT,
    'unknown',
  )
}

/**
 * A call that would remove data volumes: refused and recorded as forbidden.
 * @param {string} command
 */
export function forbiddenCall(command) {
  return new StandInError(
    `test host stand-in: refusing \`${command}\`: it would remove data volumes, which no deploy may do.`,
    FORBIDDEN_EXIT,
    'forbidden',
  )
}
