import { StringDecoder } from 'node:string_decoder'

/**
 * Turns chunks of UTF-8 output into complete lines (without the line break, a trailing CR dropped).
 * A character or line split across chunks is held back until it is complete; end() flushes a last
 * line that had no line break.
 */
export function lineSplitter(emit: (line: string) => void): { push(chunk: Buffer): void; end(): void } {
  const decoder = new StringDecoder('utf8')
  let pending = ''
  const flush = (text: string) => {
    pending += text
    let newline = pending.indexOf('\n')
    while (newline >= 0) {
      emit(pending.slice(0, newline).replace(/\r$/, ''))
      pending = pending.slice(newline + 1)
      newline = pending.indexOf('\n')
    }
  }
  return {
    push: (chunk) => flush(decoder.write(chunk)),
    end: () => {
      flush(decoder.end())
      if (pending !== '') emit(pending.replace(/\r$/, ''))
      pending = ''
    },
  }
}
