// Reads src/ the way a reviewer would: where each file's imports point, how many `any` it
// holds, how long it is. The architecture test asserts on this; `npx node test/arch/source.ts`
// prints the report.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'

export const SRC = resolve(import.meta.dirname, '../../src')

/** Each top-level folder's layer; an import may point only to its own layer or one below. */
export const LAYERS: Record<string, number> = {
  util: 0,
  wire: 0,
  identity: 0,
  sdl: 0,
  net: 1,
  store: 1,
  market: 2,
  committee: 2,
  runtime: 2,
  config: 2,
  node: 3,
  api: 3,
  'index.ts': 4,
  cli: 4
}

export interface SourceFile {
  /** path relative to src/ */
  path: string
  lines: number
  anys: number
  /** src-relative paths of the files this one imports (static and dynamic) */
  imports: string[]
  /** the subset of imports that loads code when this file loads (not `import type`) */
  runtimeImports: string[]
}

function walk (dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...walk(p))
    else if (e.name.endsWith('.ts')) out.push(p)
  }
  return out
}

export function readSources (): SourceFile[] {
  return walk(SRC).sort().map((file) => {
    const text = readFileSync(file, 'utf8')
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
    let anys = 0
    const imports: string[] = []
    const runtimeImports: string[] = []
    const target = (spec: string, typeOnly = false): void => {
      if (!spec.startsWith('.')) return
      const to = relative(SRC, resolve(dirname(file), spec))
      imports.push(to)
      if (!typeOnly) runtimeImports.push(to)
    }
    const typeOnly = (n: ts.ImportDeclaration | ts.ExportDeclaration): boolean => {
      if (ts.isExportDeclaration(n)) return n.isTypeOnly || (n.exportClause != null && ts.isNamedExports(n.exportClause) && n.exportClause.elements.length > 0 && n.exportClause.elements.every((e) => e.isTypeOnly))
      const c = n.importClause
      if (c == null) return false
      if (c.isTypeOnly) return true
      return c.name == null && c.namedBindings != null && ts.isNamedImports(c.namedBindings) && c.namedBindings.elements.length > 0 && c.namedBindings.elements.every((e) => e.isTypeOnly)
    }
    const visit = (n: ts.Node): void => {
      if (n.kind === ts.SyntaxKind.AnyKeyword) anys++
      if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier != null && ts.isStringLiteral(n.moduleSpecifier)) target(n.moduleSpecifier.text, typeOnly(n))
      if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] != null && ts.isStringLiteral(n.arguments[0])) target(n.arguments[0].text)
      if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) target(n.argument.literal.text, true)
      ts.forEachChild(n, visit)
    }
    visit(sf)
    return { path: relative(SRC, file), lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0), anys, imports, runtimeImports }
  })
}

/** how many times `any` is written as a type in a TypeScript text */
export function countAnys (text: string): number {
  let n = 0
  const visit = (node: ts.Node): void => { if (node.kind === ts.SyntaxKind.AnyKeyword) n++; ts.forEachChild(node, visit) }
  visit(ts.createSourceFile('x.ts', text, ts.ScriptTarget.Latest, true))
  return n
}

export const folderOf = (path: string): string => path.includes('/') ? path.slice(0, path.indexOf('/')) : path

/** Imports that point to a higher layer. */
export function upwardImports (files: SourceFile[]): string[] {
  const out: string[] = []
  for (const f of files) {
    const from = LAYERS[folderOf(f.path)]
    for (const i of f.imports) {
      const to = LAYERS[folderOf(i)]
      if (from == null) out.push(`${f.path}: folder ${folderOf(f.path)} has no layer`)
      else if (to == null) out.push(`${f.path} imports ${i}: folder ${folderOf(i)} has no layer`)
      else if (to > from) out.push(`${f.path} (layer ${from}) imports ${i} (layer ${to})`)
    }
  }
  return out
}

/** Cycles in a graph, each as the list of nodes around it (Tarjan's strongly connected components). */
export function cycles (edges: Map<string, Set<string>>): string[][] {
  let index = 0
  const idx = new Map<string, number>(); const low = new Map<string, number>(); const on = new Set<string>(); const stack: string[] = []
  const out: string[][] = []
  const strong = (v: string): void => {
    idx.set(v, index); low.set(v, index); index++; stack.push(v); on.add(v)
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) { strong(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)) } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!))
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = []
      let w: string
      do { w = stack.pop()!; on.delete(w); comp.push(w) } while (w !== v)
      if (comp.length > 1 || edges.get(v)?.has(v) === true) out.push(comp.sort())
    }
  }
  for (const v of edges.keys()) if (!idx.has(v)) strong(v)
  return out
}

export function folderGraph (files: SourceFile[]): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>()
  for (const f of files) {
    const a = folderOf(f.path)
    if (!g.has(a)) g.set(a, new Set())
    for (const i of f.imports) if (folderOf(i) !== a) g.get(a)!.add(folderOf(i))
  }
  return g
}

/** Which file loads which: type-only imports load nothing, so they cannot form a cycle at run time. */
export function fileGraph (files: SourceFile[]): Map<string, Set<string>> {
  return new Map(files.map((f) => [f.path, new Set(f.runtimeImports)]))
}

if (import.meta.main) {
  const files = readSources()
  const anys = files.filter((f) => f.anys > 0).sort((a, b) => b.anys - a.anys)
  console.log('any:'); for (const f of anys) console.log(`  ${String(f.anys).padStart(3)} ${f.path}`)
  console.log('over 500 lines:'); for (const f of files.filter((x) => x.lines > 500)) console.log(`  ${f.lines} ${f.path}`)
  console.log('upward imports:'); for (const u of upwardImports(files)) console.log(`  ${u}`)
  console.log('folder cycles:'); for (const c of cycles(folderGraph(files))) console.log(`  ${c.join(' ')}`)
  console.log('file cycles:'); for (const c of cycles(fileGraph(files))) console.log(`  ${c.join(' ')}`)
  console.log(`arch files=${files.length} any=${anys.reduce((s, f) => s + f.anys, 0)} over500=${files.filter((x) => x.lines > 500).length}`)
}
