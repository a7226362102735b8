// The private files of a test host, built as text from the machine's own copies: accounts, sudoers,
// /etc/hosts, sshd_config and the stand-in wrappers. Pure functions; test-host.mjs writes them into the
// host's directory and namespace-init.sh mounts them over the machine's paths inside the namespace only.

/** The two users a test host adds next to root. */
export const EXTRA_USERS = /** @type {const} */ (['deployer', 'nosudo'])

/**
 * The first free id at or above `from` in passwd- or group-style text (`name:x:ID:...`).
 * @param {string} text
 * @param {number} from
 */
function freeId(text, from) {
  const used = new Set(
    text
      .split('\n')
      .map((line) => Number(line.split(':')[2]))
      .filter(Number.isInteger),
  )
  let id = from
  while (used.has(id)) id += 1
  return id
}

/**
 * Drops lines for `names` (so a machine that already has a `deployer` gets ours instead).
 * @param {string} text
 * @param {readonly string[]} names
 */
function withoutNames(text, names) {
  return text
    .split('\n')
    .filter((line) => line !== '' && !names.includes(line.split(':')[0] ?? ''))
    .join('\n')
}

/**
 * Accounts for the namespace: the machine's passwd, group and shadow plus `deployer` and `nosudo`.
 * Every login keeps the password field `*` in shadow: no password works, but with `UsePAM no` sshd
 * still accepts keys (a `!` would lock the account).
 * @param {{ passwd: string, group: string, shadow: string }} machine
 * @returns {{ passwd: string, group: string, shadow: string, users: Record<string, { uid: number, gid: number, home: string }> }}
 */
export function accountFiles(machine) {
  let passwd = withoutNames(machine.passwd, EXTRA_USERS)
  let group = withoutNames(machine.group, EXTRA_USERS)
  let shadow = withoutNames(machine.shadow, EXTRA_USERS)
  /** @type {Record<string, { uid: number, gid: number, home: string }>} */
  const users = { root: { uid: 0, gid: 0, home: '/root' } }
  for (const name of EXTRA_USERS) {
    const id = freeId(`${passwd}\n${group}`, 2001)
    const home = `/home/${name}`
    passwd += `\n${name}:x:${id}:${id}:test host ${name}:${home}:/bin/bash`
    group += `\n${name}:x:${id}:`
    shadow += `\n${name}:*:20000:0:99999:7:::`
    users[name] = { uid: id, gid: id, home }
  }
  shadow = shadow
    .split('\n')
    .map((line) => (line.startsWith('root:') ? line.replace(/^root:[^:]*:/, 'root:*:') : line))
    .join('\n')
  return { passwd: `${passwd}\n`, group: `${group}\n`, shadow: `${shadow}\n`, users }
}

/**
 * The machine's sudoers without its includes (the namespace has no sudoers.d of its own), plus
 * passwordless sudo for `deployer`. `nosudo` gets nothing.
 * @param {string} machineSudoers
 */
export function sudoersFile(machineSudoers) {
  const kept = machineSudoers
    .split('\n')
    .filter((line) => !/^\s*[@#]include(dir)?\s/.test(line))
    .join('\n')
    .trimEnd()
  return `${kept}\n\n# test host: the deploy user of the tests\ndeployer ALL=(ALL:ALL) NOPASSWD: ALL\n`
}

/**
 * /etc/hosts where the test domain is this machine's loopback.
 * @param {string} machineHosts
 * @param {string} domain
 */
export function hostsFile(machineHosts, domain) {
  const kept = machineHosts
    .split('\n')
    .filter((line) => !line.split(/\s+/).slice(1).includes(domain))
    .join('\n')
    .trimEnd()
  return `${kept}\n127.0.0.1 ${domain}\n`
}

/**
 * sshd's configuration: keys only in practice (every password field is `*`), no PAM, DEBUG1 log.
 * @param {{ port: number, hostKeyPath: string, pidFile: string }} options
 */
export function sshdConfig({ port, hostKeyPath, pidFile }) {
  return [
    '# test host sshd: written by test-host/host-files.mjs',
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKeyPath}`,
    `PidFile ${pidFile}`,
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication yes',
    'KbdInteractiveAuthentication no',
    'AuthorizedKeysFile .ssh/authorized_keys',
    'StrictModes yes',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'X11Forwarding no',
    'LogLevel DEBUG1',
    'MaxStartups 100:30:200',
    'MaxSessions 20',
    'Subsystem sftp /usr/lib/openssh/sftp-server',
    '',
  ].join('\n')
}

/**
 * The executable a remote shell finds as `docker`, `docker-compose` or `systemctl`. It closes every
 * descriptor above stderr before node starts: a deploy script's `flock` on fd 9 would otherwise be
 * inherited by the daemons the stand-in starts and stay held forever (real systemd starts services
 * from PID 1, and they inherit nothing).
 * @param {{ program: string, node: string, entry: string, stateDir: string }} options
 */
export function standInWrapper({ program, node, entry, stateDir }) {
  return [
    '#!/bin/bash',
    `# test host stand-in for ${program}: records the call, then plays its part (test-host/stand-ins/).`,
    'for fd in $(ls /proc/$$/fd); do',
    '  case $fd in 0 | 1 | 2 | 255) ;; *) eval "exec $fd>&-" 2>/dev/null ;; esac',
    'done',
    `exec env TEST_HOST_STATE=${stateDir} ${node} ${entry} ${program} "$@"`,
    '',
  ].join('\n')
}
