// Writes the inputs and outputs tables of README.md from action.yml (names, descriptions, defaults) and
// from src/inputs/input-definitions.ts (which modes need an input; action.yml cannot say it). Only the
// text between the <!-- inputs:start --> / <!-- inputs:end --> (and outputs) markers is replaced, and the
// result is formatted by Biome as `npm run lint` wants it.
//
//   node scripts/readme-tables.mjs           rewrite README.md
//   node scripts/readme-tables.mjs --check   exit 1 when README.md is not what it would write
//   (--readme PATH and --action PATH name other files, for tests)
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'
import { parse } from 'yaml'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Text for a Markdown table cell: pipes escaped, line breaks as spaces. */
function cell(text) {
  return String(text)
    .replace(/\|/g, '\\|')
    .replace(/\s*\n\s*/g, ' ')
}

function code(text) {
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``
}

export function inputsTable(action, definitions, modes) {
  const rows = Object.entries(action.inputs).map(([name, input]) => {
    const requiredFor = definitions.find((d) => d.name === name)?.requiredFor ?? []
    const required =
      requiredFor.length === 0
        ? ''
        : requiredFor.length === modes.length
          ? 'all modes'
          : requiredFor.join(', ')
    const fallback = input.default === undefined ? '' : code(String(input.default))
    return `| \`${name}\` | ${cell(required)} | ${fallback} | ${cell(input.description)} |`
  })
  return ['| input | required for | default | description |', '|---|---|---|---|', ...rows].join('\n')
}

export function outputsTable(action) {
  const rows = Object.entries(action.outputs).map(
    ([name, output]) => `| \`${name}\` | ${cell(output.description)} |`,
  )
  return ['| output | description |', '|---|---|', ...rows].join('\n')
}

/** Replaces what lies between `<!-- NAME:start -->` and `<!-- NAME:end -->`; both markers must be there. */
export function replaceBetween(text, name, body) {
  const start = `<!-- ${name}:start -->`
  const end = `<!-- ${name}:end -->`
  const from = text.indexOf(start)
  const to = text.indexOf(end)
  if (from < 0 || to < from) throw new Error(`README.md has no ${start} … ${end} markers`)
  return `${text.slice(0, from + start.length)}\n${body}\n${text.slice(to)}`
}

/** The text as Biome formats Markdown (it aligns table columns), so that `npm run lint` agrees with it. */
function biomeFormatted(text) {
  return execFileSync(
    join(root, 'node_modules', '.bin', 'biome'),
    ['format', '--stdin-file-path=README.md'],
    {
      cwd: root,
      input: text,
      encoding: 'utf8',
    },
  )
}

async function loadDefinitions() {
  const bundle = await build({
    entryPoints: [join(root, 'src/inputs/input-definitions.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    logLevel: 'warning',
  })
  return import(`data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0].text).toString('base64')}`)
}

async function main() {
  const { values } = parseArgs({
    options: {
      check: { type: 'boolean' },
      readme: { type: 'string', default: join(root, 'README.md') },
      action: { type: 'string', default: join(root, 'action.yml') },
    },
  })
  const action = parse(readFileSync(values.action, 'utf8'))
  const { INPUTS, MODES } = await loadDefinitions()
  const readme = readFileSync(values.readme, 'utf8')
  const fresh = biomeFormatted(
    replaceBetween(
      replaceBetween(readme, 'inputs', inputsTable(action, INPUTS, MODES)),
      'outputs',
      outputsTable(action),
    ),
  )
  if (values.check) {
    if (fresh !== readme) {
      process.stderr.write(
        `${values.readme}: the inputs or outputs table differs from ${values.action}. Run \`node scripts/readme-tables.mjs\` and commit README.md.\n`,
      )
      process.exitCode = 1
    }
    return
  }
  if (fresh !== readme) writeFileSync(values.readme, fresh)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main()
