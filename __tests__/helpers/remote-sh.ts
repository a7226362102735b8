import REMOTE_SCRIPT from '../../src/remote/remote.sh'

/**
 * The text of one function of remote.sh, from `name() {` to its closing brace, for tests that run a
 * piece of the script in a plain shell with the rest stubbed.
 */
export function shellFunction(name: string): string {
  const start = REMOTE_SCRIPT.indexOf(`\n${name}() {\n`)
  if (start < 0) throw new Error(`remote.sh has no function ${name}`)
  const end = REMOTE_SCRIPT.indexOf('\n}\n', start)
  return REMOTE_SCRIPT.slice(start + 1, end + 3)
}
