// Lets tests import text assets (the remote shell script) the way esbuild's text loader does.
module.exports = {
  process(source) {
    return { code: `export default ${JSON.stringify(source)};` }
  },
}
