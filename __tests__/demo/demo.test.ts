// `npm run demo`, run for real: the script as npm runs it (Node 24), against its own test host, with every
// step's result read from what it prints, and nothing left behind afterwards: not after a good run, not
// after Ctrl-C in the middle of a deploy, not after a failing step.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import {
  closeSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CHANGED_COMMENTO_ENV,
  CHANGED_SETTING,
  COMMENTO_ENV,
  DEMO_DOMAIN,
  DEMO_TOOLS,
  demoSteps,
  installScriptPackages,
  preflight,
  runDemo,
  serverActivity,
  trailingOutputs,
} from '../../scripts/demo.mjs'
import { processesInNetns } from '../../test-host/test-host.mjs'
import { node24, repoRoot } from '../helpers/paths.js'

const demoScript = join(repoRoot, 'scripts', 'demo.mjs')
const logDir = mkdtempSync(join(tmpdir(), 'cd-demo-test-'))
const started: ChildProcess[] = []
/** Every directory and namespace a demo run named, for the final sweep. */
const seen: Array<{ workDir?: string; hostDir?: string; netns?: string }> = []

/** What the demo says it made: its files, the host's files, the host's network namespace. */
function madeBy(output: string): { workDir?: string; hostDir?: string; netns?: string } {
  const files = /^Files: +(\S+) \(keys, CA, commento-env\) and (\S+) \(the host\)/m.exec(output)
  const made = { workDir: files?.[1], hostDir: files?.[2], netns: /\((net:\[\d+\])\)/.exec(output)?.[1] }
  seen.push(made)
  return made
}

/** Processes on the machine whose command line names `text`. */
function processesNaming(text: string): string[] {
  const found: string[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ')
      if (cmdline.includes(text)) found.push(`${entry}: ${cmdline.slice(0, 160)}`)
    } catch {
      // gone
    }
  }
  return found
}

/** What is left of one demo run: processes in its namespace or naming its dirs, and the dirs. */
function leftBehind(made: { workDir?: string; hostDir?: string; netns?: string }): string[] {
  const dirs = [made.workDir, made.hostDir].filter((d): d is string => d !== undefined)
  return [
    ...(made.netns ? processesInNetns(made.netns).map((pid) => `pid ${pid} in ${made.netns}`) : []),
    ...dirs.flatMap(processesNaming),
    ...dirs.filter((dir) => existsSync(dir)).map((dir) => `dir ${dir}`),
  ]
}

/** Starts `node scripts/demo.mjs` in a process group of its own, stdout and stderr into one file, in order. */
function startDemo(name: string): {
  child: ChildProcess
  log: string
  done: Promise<{ code: number | null; signal: string | null }>
} {
  const log = join(logDir, `${name}.log`)
  const fd = openSync(log, 'w')
  const child = spawn(node24, [demoScript], { cwd: repoRoot, stdio: ['ignore', fd, fd], detached: true })
  closeSync(fd)
  started.push(child)
  const done = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  return { child, log, done }
}

async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The text under one `━━ TITLE ━━` heading, up to the next heading. */
function section(output: string, title: string): string {
  const start = output.indexOf(`━━ ${title} ━`)
  if (start < 0) throw new Error(`the demo printed no heading "${title}":\n${output}`)
  const next = output.indexOf('\n━━ ', start + 1)
  return output.slice(start, next < 0 ? undefined : next)
}

afterAll(async () => {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {
        // gone
      }
    }
  }
  // A demo killed above leaves its work dir; the test host's own watchdog stops the host within a second.
  for (const made of seen) if (made.workDir) rmSync(made.workDir, { recursive: true, force: true })
  rmSync(logDir, { recursive: true, force: true })
})

describe('npm run demo', () => {
  it('deploys, redeploys unchanged, plans a setting change with its value hidden, checks; leaves nothing', async () => {
    const demo = startDemo('full')
    const timer = setTimeout(() => demo.child.pid && process.kill(-demo.child.pid, 'SIGINT'), 80_000)
    const { code } = await demo.done
    clearTimeout(timer)
    const output = readFileSync(demo.log, 'utf8')
    expect({ code, output }).toMatchObject({ code: 0 })

    const titles = [
      '1/4 First deploy',
      '2/4 Unchanged redeploy',
      '3/4 Plan after a setting change',
      '4/4 Check',
      'Done',
    ]
    const positions = titles.map((title) => output.indexOf(`━━ ${title} ━`))
    expect(positions.every((p) => p >= 0)).toBe(true)
    expect([...positions].sort((a, b) => a - b)).toEqual(positions)

    // Each step: the command line, the progress as it went, the summary as text, then its outputs.
    const first = section(output, titles[0] as string)
    expect(first).toContain('$ commento-deploy deploy --host comments.test --domain comments.test')
    expect(first).toContain('▸ Preflight: docker, compose, systemd, disk')
    expect(first).toContain('commento-deploy: deploy\n-----------------------')
    expect(first).toMatch(/^Result +✅ deployed and healthy$/m)
    expect(first).toContain('✓ First deploy: exit 0, changed=true status=healthy')
    expect(trailingOutputs(first.slice(0, first.indexOf('\nOn the server:')))).toMatchObject({
      changed: 'true',
      status: 'healthy',
      url: `https://${DEMO_DOMAIN}/`,
      'previous-release': '',
    })

    expect(first).toMatch(/^On the server: \d+ docker\/systemctl calls; these \d+ changed something:$/m)
    expect(first).toContain('\n  docker volume create commento_postgres_volume\n')
    expect(first).toContain('\n  systemctl start commento.service\n')

    const redeploy = section(output, titles[1] as string)
    expect(redeploy).toContain('upload: skipped')
    expect(redeploy).toMatch(/^Result +✅ unchanged and healthy$/m)
    expect(redeploy).toContain('✓ Unchanged redeploy: exit 0, changed=false status=healthy')
    expect(redeploy).not.toMatch(/unit-action: (start|restart|reload)/)
    expect(redeploy).toMatch(/^On the server: \d+ docker\/systemctl calls, all read-only/m)

    const plan = section(output, titles[2] as string)
    expect(plan).toContain('$ commento-deploy plan ')
    expect(plan).toContain(`~ ${CHANGED_SETTING} (value hidden)`)
    expect(plan).not.toContain('~ COMMENTO_FORBID_NEW_OWNERS')
    expect(plan).toContain('✓ Plan after a setting change: exit 0, changed=true')
    expect(plan).toMatch(/^On the server: \d+ docker\/systemctl calls, all read-only/m)
    // The old and the new value of the changed secret are in the files the tool read, never on screen.
    const secret = (env: string) => new RegExp(`^${CHANGED_SETTING}=(.+)$`, 'm').exec(env)?.[1] as string
    expect(secret(COMMENTO_ENV)).not.toBe(secret(CHANGED_COMMENTO_ENV))
    expect(output).not.toContain(secret(COMMENTO_ENV))
    expect(output).not.toContain(secret(CHANGED_COMMENTO_ENV))
    expect(output).not.toContain('PRIVATE KEY')

    const check = section(output, titles[3] as string)
    expect(check).toContain(`$ commento-deploy check --domain ${DEMO_DOMAIN}`)
    expect(check).toContain(`✅ https://${DEMO_DOMAIN}/ is healthy`)
    expect(check).toContain('✓ Check: exit 0, status=healthy')
    expect(check).toContain('On the server: no docker or systemctl call.')

    const done = section(output, 'Done')
    expect(done).toMatch(/✓ 1\. First deploy +exit 0 +changed=true status=healthy/)
    expect(done).toMatch(/✓ 2\. Unchanged redeploy +exit 0 +changed=false status=healthy/)
    expect(done).toMatch(/✓ 3\. Plan after a setting change +exit 0 +changed=true/)
    expect(done).toMatch(/✓ 4\. Check +exit 0 +status=healthy/)
    expect(done).toContain('nothing is left running or on disk')

    const made = madeBy(output)
    expect(made.workDir).toMatch(/commento-deploy-demo-/)
    expect(made.hostDir).toMatch(/test-host-/)
    expect(made.netns).toMatch(/^net:\[\d+\]$/)
    expect(leftBehind(made)).toEqual([])
  }, 90_000)

  it('Ctrl-C during the first deploy stops the tool and the test host, removes the files, exits 130', async () => {
    const demo = startDemo('interrupted')
    await waitFor(
      'the first deploy to connect',
      () => readFileSync(demo.log, 'utf8').includes('▸ Connect'),
      40_000,
    )
    // What a terminal does on Ctrl-C: SIGINT to the foreground process group.
    process.kill(-(demo.child.pid as number), 'SIGINT')
    const { code } = await demo.done
    const output = readFileSync(demo.log, 'utf8')
    expect({ code, output }).toMatchObject({ code: 130 })
    expect(output).toContain("Interrupted (SIGINT): stopping the test host and removing the demo's files")
    expect(output).toContain('nothing is left running or on disk')
    expect(output).not.toContain('━━ 2/4')
    const made = madeBy(output)
    expect(made.netns).toMatch(/^net:\[\d+\]$/)
    expect(leftBehind(made)).toEqual([])
  }, 60_000)

  it('a second signal while stopping exits at once, and the exit hooks still remove everything', async () => {
    const demo = startDemo('interrupted-twice')
    await waitFor(
      'the first deploy to connect',
      () => readFileSync(demo.log, 'utf8').includes('▸ Connect'),
      40_000,
    )
    // Two different signals, so that the kernel cannot merge them into one: the second comes while the
    // demo is still stopping after the first. Node may hand them to its loop in either order (any of its
    // threads can take a signal), so the test reads which came first and expects the exit of the second.
    process.kill(-(demo.child.pid as number), 'SIGINT')
    process.kill(-(demo.child.pid as number), 'SIGTERM')
    const { code } = await demo.done
    const output = readFileSync(demo.log, 'utf8')
    const first = /^Interrupted \((SIGINT|SIGTERM)\): stopping the test host/m.exec(output)?.[1]
    const second = first === 'SIGINT' ? 'SIGTERM' : 'SIGINT'
    expect({ first, code, output }).toMatchObject({
      first: expect.stringMatching(/^SIG(INT|TERM)$/),
      code: second === 'SIGTERM' ? 143 : 130,
    })
    expect(output).toContain(`${second} while stopping: exiting now.`)
    const made = madeBy(output)
    expect(made.workDir && existsSync(made.workDir)).toBe(false)
    // The host's processes were sent SIGKILL on exit; give the kernel a moment to reap them.
    await waitFor(`nothing left of ${JSON.stringify(made)}`, () => leftBehind(made).length === 0, 3_000)
  }, 60_000)

  it('says when npm ci has not been run (and dist/ is missing), and starts nothing', () => {
    const checkout = mkdtempSync(join(logDir, 'checkout-'))
    mkdirSync(join(checkout, 'scripts'))
    for (const file of ['demo.mjs', 'install-test-deps.sh']) {
      copyFileSync(join(repoRoot, 'scripts', file), join(checkout, 'scripts', file))
    }
    // A clone before `npm ci`: the repository's own files, no node_modules, no dist/.
    cpSync(join(repoRoot, 'test-host'), join(checkout, 'test-host'), { recursive: true })
    const run = spawnSync(node24, [join(checkout, 'scripts', 'demo.mjs')], {
      cwd: checkout,
      encoding: 'utf8',
    })
    expect(run.status).toBe(1)
    expect(run.stderr).toContain('`npm ci` has not been run here')
    expect(run.stderr).toContain('dist/cli.cjs, the command-line tool the demo runs, is missing')
    expect(run.stdout).not.toContain('━━')
  })

  it('a failing step stops the demo, names the step, exits 1, and still cleans up', async () => {
    // The first deploy pins a host key the server does not have: the tool refuses to log in (exit 1).
    const otherHostKey = join(logDir, 'other-host-key')
    writeFileSync(otherHostKey, 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n')
    let output = ''
    const code = await runDemo({
      out: { write: (text: string | Buffer) => (output += String(text)) },
      steps: (files) =>
        demoSteps({ ...files, hostKeyPath: otherHostKey }).map((step, i) =>
          i === 0 ? { ...step, title: 'Deploy pinning another host key' } : step,
        ),
    })
    expect({ code, output }).toMatchObject({ code: 1 })
    expect(output).toContain('━━ 1/4 Deploy pinning another host key')
    expect(output).not.toContain('━━ 2/4')
    expect(output).toContain('━━ Demo failed')
    expect(output).toMatch(/✗ 1\. Deploy pinning another host key +exit 1/)
    expect(output).toContain('Step 1/4 (Deploy pinning another host key) failed: the tool exited with 1.')
    expect(output).toContain('SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')
    const made = madeBy(output)
    expect(leftBehind(made)).toEqual([])
  }, 60_000)

  it('as a user other than root it stops before starting anything, saying how to run it', () => {
    const run = spawnSync('runuser', ['-u', 'nobody', '--', node24, demoScript], {
      cwd: repoRoot,
      encoding: 'utf8',
    })
    if (run.error)
      throw new Error(`runuser (Debian package util-linux) is needed for this test: ${run.error.message}`)
    expect(run.status).toBe(1)
    expect(run.stderr).toContain('The demo needs root')
    expect(run.stderr).toContain('sudo npm run demo')
    expect(run.stdout).not.toContain('━━')
  })
})

describe('demo preflight', () => {
  const scriptPackages = installScriptPackages(
    readFileSync(join(repoRoot, 'scripts', 'install-test-deps.sh'), 'utf8'),
  )
  const ready = {
    isRoot: true,
    missingTools: [] as Array<readonly [string, string]>,
    hasAptGet: true,
    hasNode24: true,
    hasCli: true,
  }

  it('installs only through scripts/install-test-deps.sh, whose list has every package the demo needs', () => {
    for (const [, pkg] of DEMO_TOOLS) expect(scriptPackages).toContain(pkg)
  })

  it('starts when everything is there', () => {
    expect(preflight(ready, scriptPackages)).toEqual({ action: 'start', messages: [] })
  })

  it('as root, says which packages are missing and that it runs the install script, before it does', () => {
    const check = preflight({ ...ready, missingTools: [['/usr/sbin/nginx', 'nginx-light']] }, scriptPackages)
    expect(check.action).toBe('install')
    expect(check.messages.join('\n')).toContain('not installed: nginx-light.')
    expect(check.messages.join('\n')).toContain('Running scripts/install-test-deps.sh now')
    expect(check.messages.join('\n')).toContain('postgresql')
  })

  it('not as root, asks the user to install and to run as root, and installs nothing', () => {
    const check = preflight(
      { ...ready, isRoot: false, missingTools: [['/usr/sbin/sshd', 'openssh-server']] },
      scriptPackages,
    )
    expect(check.action).toBe('stop')
    expect(check.messages.join('\n')).toContain('sudo bash scripts/install-test-deps.sh')
    expect(check.messages.join('\n')).toContain('sudo npm run demo')
  })

  it('says when npm ci has not been run', () => {
    const check = preflight({ ...ready, hasNode24: false }, scriptPackages)
    expect(check.action).toBe('stop')
    expect(check.messages[0]).toContain('`npm ci` has not been run here')
  })

  it('without apt-get, names the programs instead of installing', () => {
    const check = preflight(
      { ...ready, hasAptGet: false, missingTools: [['ip', 'iproute2']] },
      scriptPackages,
    )
    expect(check.action).toBe('stop')
    expect(check.messages[0]).toContain('ip (iproute2)')
  })

  it('after the install script ran, names what is still missing instead of installing again', () => {
    const check = preflight({ ...ready, missingTools: [['ip', 'iproute2']] }, scriptPackages, {
      installed: true,
    })
    expect(check.action).toBe('stop')
    expect(check.messages[0]).toContain('still not found: ip (iproute2)')
    expect(check.messages[0]).toContain('PATH lacks /usr/sbin')
  })

  it('tells calls that change the server from calls that only read', () => {
    expect(serverActivity([])).toEqual(['On the server: no docker or systemctl call.'])
    expect(serverActivity(['docker version --format x', 'systemctl is-active commento.service'])[0]).toMatch(
      /^On the server: 2 docker\/systemctl calls, all read-only/,
    )
    expect(
      serverActivity([
        'docker compose ps --format json',
        'docker volume create a',
        'systemctl reload commento.service',
      ]),
    ).toEqual([
      'On the server: 3 docker/systemctl calls; these 2 changed something:',
      '  docker volume create a',
      '  systemctl reload commento.service',
    ])
  })

  it('reads the outputs the tool prints last', () => {
    expect(
      trailingOutputs('summary\nchanged: yes\n\nurl=https://x/\nchanged=true\nprevious-release=\n'),
    ).toEqual({
      url: 'https://x/',
      changed: 'true',
      'previous-release': '',
    })
  })
})
