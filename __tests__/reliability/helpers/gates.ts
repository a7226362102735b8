// Gates: hold one command of the remote script at a chosen moment so that a fault (a cut connection, a
// killed deploy) lands exactly there. The remote script's PATH starts with /usr/local/sbin; inside the
// test host's namespace (only there: a tmpfs is mounted over it) each gated program gets a small wrapper
// in that folder. While a gate is armed with a prefix, a call whose arguments start with it touches
// `<program>.reached` and waits until the test opens the gate; every other call goes straight through.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TestHost } from '../../../test-host/test-host.mjs'
import { eventually } from './server.js'

/** The programs that can be gated, with the real executable each wrapper hands over to. */
const REAL = {
  docker: '/usr/local/bin/docker',
  systemctl: '/usr/bin/systemctl',
  head: '/usr/bin/head',
} as const

export type GatedProgram = keyof typeof REAL

export interface Gates {
  /** Holds the next calls of `program` whose arguments start with `prefix` (e.g. `compose pull`). */
  arm(program: GatedProgram, prefix: string): void
  /** Resolves once an armed call is being held. */
  reached(program: GatedProgram, timeoutMs?: number): Promise<void>
  /** Lets held and later calls through. */
  open(program: GatedProgram): void
  openAll(): void
}

function wrapper(program: GatedProgram, dir: string): string {
  const gate = join(dir, program)
  return [
    '#!/bin/sh',
    `# reliability test gate for ${program} (see __tests__/reliability/helpers/gates.ts)`,
    `if [ -f '${gate}.armed' ]; then`,
    `  prefix=$(cat '${gate}.armed')`,
    '  case "$*" in',
    '  "$prefix"*)',
    `    : >'${gate}.reached'`,
    '    n=0',
    // At most 60 s: a test that fails before opening the gate must not hang the host.
    `    while [ -f '${gate}.armed' ] && [ "$n" -lt 1200 ]; do sleep 0.05; n=$((n + 1)); done`,
    '    ;;',
    '  esac',
    'fi',
    `exec ${REAL[program]} "$@"`,
    '',
  ].join('\n')
}

export async function installGates(host: TestHost): Promise<Gates> {
  // In the host's dir (on the machine, seen at the same path inside the namespace).
  const dir = join(host.dir, 'reliability-gates')
  mkdirSync(dir, { recursive: true, mode: 0o755 })
  for (const program of Object.keys(REAL) as GatedProgram[])
    writeFileSync(join(dir, `${program}.sh`), wrapper(program, dir), { mode: 0o755 })
  await host.exec(
    `mountpoint -q /usr/local/sbin || mount -t tmpfs -o mode=0755,size=1m reliability-gates /usr/local/sbin
     for p in ${Object.keys(REAL).join(' ')}; do install -m 0755 "${dir}/$p.sh" "/usr/local/sbin/$p"; done`,
  )
  const file = (program: GatedProgram, what: 'armed' | 'reached') => join(dir, `${program}.${what}`)
  const gates: Gates = {
    arm(program, prefix) {
      rmSync(file(program, 'reached'), { force: true })
      writeFileSync(file(program, 'armed'), prefix)
    },
    reached(program, timeoutMs = 30_000) {
      return eventually(
        `a held call of ${program}`,
        async () => {
          try {
            rmSync(file(program, 'reached'))
            return true
          } catch {
            return false
          }
        },
        timeoutMs,
      )
    },
    open(program) {
      rmSync(file(program, 'armed'), { force: true })
    },
    openAll() {
      for (const program of Object.keys(REAL) as GatedProgram[]) gates.open(program)
    },
  }
  return gates
}
