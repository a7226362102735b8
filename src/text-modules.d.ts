// Text assets bundled as strings (esbuild `text` loader; jest: scripts/jest-text-transform.cjs).
declare module '*.sh' {
  const text: string
  export default text
}
