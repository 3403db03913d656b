// YAML text → plain data, with limits, duplicate-key detection and paths. The document is walked
// by hand rather than with `toJS()` so that every value has a path, aliases are counted and
// expanded under a node budget, and the source text of numbers (e.g. `amount: 10000.50`) is kept.
import { Lexer, LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml'
import type { Document } from 'yaml'
import type { SdlLimits } from './constants.ts'
import { SdlLimitError, SdlParseError } from './errors.ts'
import type { SdlIssue } from './errors.ts'
import type { SdlNotice } from './types.ts'

/** a map as read from YAML: no prototype, so any key is just a key */
export type YamlMap = Record<string, unknown>

export interface YamlTree {
  value: unknown
  /** the text as written of every plain scalar YAML read as a number, by path */
  numberSources: Map<string, string>
  /** structural problems (duplicate keys, non-string keys, merge keys) */
  errors: SdlIssue[]
  /** syntax slips that were read leniently, and parser warnings */
  notices: SdlNotice[]
}

/** indentation plus `- ` indicators beyond this many columns is refused before parsing */
const MAX_STRUCTURE_COLUMN = 256

/** how many syntax slips are worth repairing before giving up */
const MAX_REPAIRS = 16

export function readYaml (input: string, limits: SdlLimits): YamlTree {
  const bytes = Buffer.byteLength(input, 'utf8')
  if (bytes > limits.maxBytes) throw new SdlLimitError('bytes', limits.maxBytes, `the file is ${bytes} bytes; the limit is ${limits.maxBytes}`)
  let text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input
  const notices: SdlNotice[] = []

  text = repairDocumentMarker(text, notices)
  precheck(text, limits)

  for (let attempt = 0; ; attempt++) {
    const lineCounter = new LineCounter()
    const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false, lineCounter, version: '1.2', keepSourceTokens: false })
    if (doc.errors.length > 0) {
      const first = doc.errors[0]
      const quote = first.code === 'MISSING_CHAR' ? /Missing closing (['"])quote/.exec(first.message)?.[1] : undefined
      if (quote != null && attempt < MAX_REPAIRS) {
        const repaired = repairQuotedContinuation(text, first.pos[0], quote)
        if (repaired != null) {
          const line = lineCounter.linePos(first.pos[0]).line
          notices.push({ path: `line ${line + 1}`, message: 'a quoted string continues on a line indented no deeper than its key; read it as Akash\'s YAML parser does (the line joins the string)' })
          text = repaired
          continue
        }
      }
      throw new SdlParseError(doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0])
        return { line: pos.line, column: pos.col, message: e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '') }
      }))
    }
    for (const w of doc.warnings) {
      const pos = lineCounter.linePos(w.pos[0])
      notices.push({ path: `line ${pos.line}`, message: w.message.split('\n')[0] })
    }
    const walker = new Walker(doc, limits, lineCounter)
    const value = walker.node(doc.contents, '', 0)
    return { value, numberSources: walker.numberSources, errors: walker.errors, notices }
  }
}

/**
 * A cheap pass over the tokens before the parser builds anything: the parser recurses per
 * level of flow nesting (`[[[[…`) and slows down on huge flow lists, so both are refused here.
 */
function precheck (text: string, limits: SdlLimits): void {
  // block nesting needs one more column per level, so a bound on the columns taken by
  // indentation and `- ` / `? ` indicators bounds it (the parser overflows near 1,000 levels)
  const maxColumn = MAX_STRUCTURE_COLUMN
  const structure = /^[ ]*(?:[-?][ ]+)*/gm
  for (let m = structure.exec(text); m != null; m = structure.exec(text)) {
    if (m[0].length > maxColumn) throw new SdlLimitError('depth', limits.maxDepth, `a line indented more than ${maxColumn} columns`)
    if (m[0].length === 0) structure.lastIndex++
  }
  let depth = 0
  let scalars = 0
  for (const tok of new Lexer().lex(text)) {
    if (tok === '[' || tok === '{') {
      if (++depth > limits.maxDepth) throw new SdlLimitError('depth', limits.maxDepth, `flow collections nested deeper than ${limits.maxDepth} levels`)
    } else if (tok === ']' || tok === '}') {
      if (depth > 0) depth--
    } else if (tok === '\x1f' && ++scalars > limits.maxNodes) {
      throw new SdlLimitError('nodes', limits.maxNodes, `more than ${limits.maxNodes} values`)
    }
  }
}

/**
 * A first line of `--` is a mistyped document marker `---` (it occurs in published files);
 * YAML would read it as the start of a key `-- version`. Read it as the marker, and say so.
 */
function repairDocumentMarker (text: string, notices: SdlNotice[]): string {
  const m = /^((?:[ \t]*(?:#[^\n]*)?\r?\n)*)--[ \t]*(\r?\n)/.exec(text)
  if (m == null) return text
  const line = m[1].split('\n').length
  notices.push({ path: `line ${line}`, message: 'read "--" as the document start marker "---"' })
  return m[1] + '---' + m[2] + text.slice(m[0].length)
}

const CONTROL_TOKENS = new Set(['\x02', '\x18', '\x1f'])

/**
 * A quoted string whose continuation line is indented no deeper than the entry that holds it:
 * YAML 1.2 ends the string there, libyaml-based parsers (Akash's among them) read on. The
 * continuation is re-indented, which does not change the value: a flow scalar folds each line
 * break with the next line's leading white space into one space.
 */
function repairQuotedContinuation (text: string, end: number, quote: string): string | undefined {
  let start = -1
  let off = 0
  for (const tok of new Lexer().lex(text)) {
    if (tok.length === 1 && CONTROL_TOKENS.has(tok)) continue
    if (off + tok.length === end && tok.startsWith(quote)) { start = off; break }
    off += tok.length
    if (off > end) break
  }
  if (start < 0) return undefined
  let close = -1
  for (let i = end; i < text.length; i++) {
    const c = text[i]
    if (quote === '\'' && c === '\'') {
      if (text[i + 1] === '\'') { i++; continue }
      close = i
      break
    }
    if (quote === '"' && c === '\\') { i++; continue }
    if (quote === '"' && c === '"') { close = i; break }
  }
  if (close < 0) return undefined
  const column = start - (text.lastIndexOf('\n', start - 1) + 1)
  const pad = ' '.repeat(column + 1)
  const lines = text.slice(end, close).split('\n')
  const fixed = lines.map((l, i) => {
    if (i === 0) return l
    const body = l.replace(/^[ \t]+/, '')
    const indent = l.length - body.length
    return body === '' || body === '\r' || indent > column ? l : pad + body
  })
  return text.slice(0, end) + fixed.join('\n') + text.slice(close)
}

class Walker {
  readonly numberSources = new Map<string, string>()
  readonly errors: SdlIssue[] = []
  private nodes = 0
  private aliases = 0
  private readonly doc: Document
  private readonly limits: SdlLimits
  private readonly lines: LineCounter

  constructor (doc: Document, limits: SdlLimits, lines: LineCounter) {
    this.doc = doc
    this.limits = limits
    this.lines = lines
  }

  private line (range: readonly number[] | null | undefined): number {
    return range == null ? 0 : this.lines.linePos(range[0]).line
  }

  node (n: unknown, path: string, depth: number): unknown {
    if (++this.nodes > this.limits.maxNodes) {
      throw new SdlLimitError('nodes', this.limits.maxNodes, `more than ${this.limits.maxNodes} values (after expanding aliases)`, path)
    }
    if (depth > this.limits.maxDepth) throw new SdlLimitError('depth', this.limits.maxDepth, `nested deeper than ${this.limits.maxDepth} levels`, path)
    if (n == null) return null
    if (isAlias(n)) {
      if (++this.aliases > this.limits.maxAliases) throw new SdlLimitError('aliases', this.limits.maxAliases, `more than ${this.limits.maxAliases} alias references`, path)
      const target = n.resolve(this.doc)
      if (target == null) {
        this.errors.push({ path, message: `alias *${n.source} names no anchor` })
        return null
      }
      return this.node(target, path, depth)
    }
    if (isScalar(n)) {
      const v = n.value
      if (typeof v === 'string') {
        if (v.length > this.limits.maxStringLength) throw new SdlLimitError('string', this.limits.maxStringLength, `a string of ${v.length} characters; the limit is ${this.limits.maxStringLength}`, path)
        return v
      }
      if (typeof v === 'number') {
        if (typeof n.source === 'string' && n.source !== '') this.numberSources.set(path, n.source)
        return v
      }
      if (typeof v === 'boolean' || v === null) return v
      if (typeof v === 'bigint') return Number(v)
      this.errors.push({ path, message: 'holds a value of an unsupported YAML type' })
      return null
    }
    if (isSeq(n)) {
      const out: unknown[] = []
      n.items.forEach((item, i) => {
        const p = `${path}[${i}]`
        out.push(isPair(item) ? this.pairs([item], p, depth + 1) : this.node(item, p, depth + 1))
      })
      return out
    }
    if (isMap(n)) return this.pairs(n.items, path, depth)
    this.errors.push({ path, message: 'holds a value of an unsupported YAML kind' })
    return null
  }

  private pairs (items: readonly unknown[], path: string, depth: number): YamlMap {
    const out: YamlMap = Object.create(null)
    const seenAt = new Map<string, number>()
    for (const item of items) {
      if (!isPair(item)) continue
      const k = item.key
      let key: string
      if (k == null) key = ''
      else if (isScalar(k) && (k.value == null || ['string', 'number', 'boolean'].includes(typeof k.value))) {
        key = typeof k.value === 'number' && typeof k.source === 'string' ? k.source : k.value == null ? '' : String(k.value)
        if (key === '<<' && k.type === 'PLAIN') {
          this.errors.push({ path: path === '' ? '<<' : `${path}.<<`, message: 'YAML merge keys (<<) are not supported; write the keys out' })
          continue
        }
      } else {
        this.errors.push({ path, message: `a key at line ${this.line((k as { range?: number[] }).range)} is not a plain string` })
        continue
      }
      if (key.length > this.limits.maxStringLength) throw new SdlLimitError('string', this.limits.maxStringLength, `a key of ${key.length} characters`, path)
      const p = path === '' ? key : `${path}.${key}`
      if (key === '__proto__') {
        this.errors.push({ path: p, message: 'is a reserved name' })
        continue
      }
      const line = this.line(isScalar(k) ? k.range : undefined)
      const first = seenAt.get(key)
      if (first != null) {
        this.errors.push({ path: p, message: `duplicate key (first written at line ${first}, again at line ${line})` })
        continue
      }
      seenAt.set(key, line)
      out[key] = this.node(item.value, p, depth + 1)
    }
    return out
  }
}
