// Reloads the site's nginx with the host's current configuration (used by TestHost.setTls):
//   node reload-site.mjs STATE_DIR   (inside the namespace, as root)

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { applySite } from './site.mjs'
import { StateStore } from './state-store.mjs'

const stateDir = /** @type {string} */ (process.argv[2])
const store = new StateStore(stateDir)
const host = JSON.parse(readFileSync(join(stateDir, 'host.json'), 'utf8'))
const site = store.update((state) => {
  state.site.generation += 1
  return state.site
})
if (site.running)
  await applySite(host, { release: site.release ?? '', broken: site.broken, generation: site.generation })
