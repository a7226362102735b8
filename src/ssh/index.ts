export { type ConnectDeps, connectSsh, type RetryPolicy, type SshTimeouts } from './connect-ssh.js'
export { SshError, type SshErrorKind } from './ssh-error.js'
export {
  type RemoteExit,
  type RemoteProcess,
  requireSuccess,
  type SessionStats,
  type SshSession,
} from './ssh-session.js'
