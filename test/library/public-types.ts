// Walks every name the package root exports (dist/src/index.d.ts) with the TypeScript compiler
// and lists where `any` or `unknown` can be reached: through properties, methods' parameters and
// results, type arguments, unions and namespaces. Types declared outside souk (libp2p, Node) are
// not entered, only named; souk's own are followed to the bottom.
import ts from 'typescript'
import { relative } from 'node:path'

const GENERATORS = new Set(['AsyncGenerator', 'Generator', 'AsyncIterator', 'Iterator', 'AsyncIterableIterator', 'IterableIterator', 'AsyncIterable', 'Iterable'])

export interface Finding { kind: 'any' | 'unknown', path: string, file: string }

export function publicTypeFindings (indexDts: string, root: string): Finding[] {
  const program = ts.createProgram([indexDts], { strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, noEmit: true, types: ['node'] })
  const checker = program.getTypeChecker()
  const source = program.getSourceFile(indexDts)
  if (source == null) throw new Error(`no ${indexDts}`)
  const moduleSymbol = checker.getSymbolAtLocation(source)
  if (moduleSymbol == null) throw new Error('index.d.ts is not a module')
  const findings = new Map<string, Finding>()
  const seen = new Set<ts.Type>()
  const ownDir = indexDts.slice(0, indexDts.lastIndexOf('/') + 1)
  const ours = (decl: ts.Declaration | undefined): boolean => decl != null && decl.getSourceFile().fileName.startsWith(ownDir)
  const fileOf = (decl: ts.Declaration | undefined): string => decl != null ? relative(root, decl.getSourceFile().fileName) : '?'

  const note = (kind: Finding['kind'], path: string, decl: ts.Declaration | undefined): void => {
    const f = { kind, path, file: fileOf(decl) }
    findings.set(`${kind} ${path}`, f)
  }

  function visitType (type: ts.Type, path: string, decl: ts.Declaration | undefined, depth: number): void {
    if (depth > 12) return
    if ((type.flags & ts.TypeFlags.Any) !== 0) { note('any', path, decl); return }
    if ((type.flags & ts.TypeFlags.Unknown) !== 0) { note('unknown', path, decl); return }
    if (seen.has(type)) return
    seen.add(type)
    if (type.isUnionOrIntersection()) { for (const t of type.types) visitType(t, path, decl, depth + 1); return }
    if ((type.flags & ts.TypeFlags.Object) === 0) return
    const obj = type as ts.ObjectType
    if ((obj.objectFlags & ts.ObjectFlags.Reference) !== 0) {
      const args = checker.getTypeArguments(obj as ts.TypeReference)
      // a generator's return and next types default to any in TypeScript's own lib; only what it yields is ours
      const yieldsOnly = GENERATORS.has(type.getSymbol()?.name ?? '')
      args.forEach((a, i) => { if (!(yieldsOnly && i > 0)) visitType(a, `${path}<${i}>`, decl, depth + 1) })
    }
    const symbol = type.getSymbol() ?? type.aliasSymbol
    const typeDecl = symbol?.declarations?.[0]
    // an inline `{ … }` or function type belongs to the file it is written in
    if (!ours(typeDecl ?? decl)) return
    for (const sig of [...type.getCallSignatures(), ...type.getConstructSignatures()]) visitSignature(sig, path, depth)
    for (const info of checker.getIndexInfosOfType(type)) visitType(info.type, `${path}[key]`, info.declaration ?? decl, depth + 1)
    for (const prop of type.getProperties()) {
      const pdecl = prop.valueDeclaration ?? prop.declarations?.[0]
      if (pdecl != null && !ours(pdecl)) continue
      if (prop.name.startsWith('#') || prop.name.startsWith('__') || prop.name === 'prototype') continue
      // private members appear in a declaration file without their types; a caller cannot reach them
      if (pdecl != null && (ts.getCombinedModifierFlags(pdecl) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0) continue
      visitType(checker.getTypeOfSymbol(prop), `${path}.${prop.name}`, pdecl, depth + 1)
    }
  }

  function visitSignature (sig: ts.Signature, path: string, depth: number): void {
    for (const p of sig.getParameters()) {
      const pdecl = p.valueDeclaration
      visitType(checker.getTypeOfSymbol(p), `${path}(${p.name})`, pdecl, depth + 1)
    }
    visitType(sig.getReturnType(), `${path}()`, sig.getDeclaration(), depth + 1)
  }

  function visitSymbol (sym: ts.Symbol, path: string): void {
    const target = (sym.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(sym) : sym
    const decl = target.valueDeclaration ?? target.declarations?.[0]
    if ((target.flags & ts.SymbolFlags.ValueModule) !== 0 && decl != null && ts.isSourceFile(decl)) {
      for (const s of checker.getExportsOfModule(target)) visitSymbol(s, `${path}.${s.name}`)
      return
    }
    if ((target.flags & ts.SymbolFlags.Value) !== 0) visitType(checker.getTypeOfSymbol(target), path, decl, 0)
    if ((target.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias | ts.SymbolFlags.Class)) !== 0) visitType(checker.getDeclaredTypeOfSymbol(target), path, decl, 0)
  }

  for (const s of checker.getExportsOfModule(moduleSymbol)) visitSymbol(s, s.name)
  return [...findings.values()].sort((a, b) => a.path.localeCompare(b.path))
}
