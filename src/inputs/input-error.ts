/** A bad input: names the input, shows what was given (never a secret) and says what is expected. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    message: string,
  ) {
    super(message)
    this.name = 'InputError'
  }
}

const MAX_SHOWN = 80

/** How a given value is shown in a message: quoted, escaped, cut when long; secrets only by length. */
export function shown(value: string, secret = false): string {
  if (secret) return `(hidden, ${value.length} characters)`
  const escaped = JSON.stringify(value.length > MAX_SHOWN ? value.slice(0, MAX_SHOWN) : value)
  return value.length > MAX_SHOWN ? `${escaped}… (${value.length} characters)` : escaped
}

export function invalid(input: string, value: string, expected: string, secret = false): InputError {
  return new InputError(input, `Input '${input}' is ${shown(value, secret)}: expected ${expected}.`)
}
