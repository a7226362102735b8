import type { Mode } from '../inputs/input-definitions.js'
import { checkMode } from './check-mode.js'
import { type ModeRunner, NotImplementedError } from './mode.js'

const notYet =
  (mode: Mode): ModeRunner =>
  async () => {
    throw new NotImplementedError(`mode '${mode}'`)
  }

export const MODE_RUNNERS: Readonly<Record<Mode, ModeRunner>> = {
  deploy: notYet('deploy'),
  check: checkMode,
  plan: notYet('plan'),
  rollback: notYet('rollback'),
}
