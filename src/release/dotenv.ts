// Writing Compose's `.env` files so that Compose reads every value back byte for byte.
//
// Compose v2 (compose-go 2, dotenv/parser.go) reads a quoted value up to the first quote that does
// not follow a backslash:
//   - single quotes: the text between the quotes, as is. A `'` inside can only be written `\'`, and
//     that reads back as `\'` (the backslash stays), so a value with `'` cannot be single-quoted;
//   - double quotes: then `\\`, `\"` and `\$` (among other escapes) are unescaped and `$$` or `${...}`
//     interpolated; `\\`, `\"` and `\$` express any value with a `'`.
// Either way a value that ends in a backslash cannot be written: the closing quote would follow a
// backslash and not close. NUL cannot be in an environment variable at all. Those two are refused;
// everything else is written, in single quotes when it can be (no interpolation, nothing to escape).
//
// docker-compose v1 (python-dotenv) also unescapes `\\` inside single quotes: a value with two
// backslashes in a row reads back differently there. Compose v2 is what the stack is for.

/** A value that no quoting in a `.env` file can carry. */
export class DotenvValueError extends Error {
  constructor(
    readonly variable: string,
    readonly reason: string,
  ) {
    super(`${variable} cannot be written to a .env file: ${reason}`)
    this.name = 'DotenvValueError'
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** The quoted form of `value`, as it follows `NAME=` in a `.env` file. */
export function dotenvValue(variable: string, value: string): string {
  if (value.includes('\0')) throw new DotenvValueError(variable, 'it contains a NUL character')
  if (value.endsWith('\\'))
    throw new DotenvValueError(
      variable,
      'it ends with a backslash, which would escape the closing quote; end it with another character',
    )
  if (!value.includes("'")) return `'${value}'`
  return `"${value.replace(/[\\"$]/g, (c) => `\\${c}`)}"`
}

/** One `NAME='value'` line of a `.env` file, with its line break. */
export function dotenvLine(variable: string, value: string): string {
  if (!NAME.test(variable)) throw new DotenvValueError(variable, 'it is not a valid variable name')
  return `${variable}=${dotenvValue(variable, value)}\n`
}
