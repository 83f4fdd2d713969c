#!/usr/bin/env node
// Every error class a published package exports has a stable `code`, named alike across the
// packages: `ERR_` and upper-case words (`ERR_RETRY_EXHAUSTED`, `ERR_STORAGE_CLOSED`).
//
// Reads the built declarations (what users get) with the TypeScript compiler: for each entry point
// of each public package under packages/*, every exported class whose instances are `Error`s must
// have a `code` property typed as a string literal or a union of them, each matching the rule. A
// `code: string` fails too: a code users can branch on is a closed set.
//
// Run from the repository root after building: `node scripts/check-error-codes.mjs`. Prints one
// line per package; exits 1 on any problem.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = join(ROOT, 'packages');
const CODE = /^ERR_[A-Z0-9]+(_[A-Z0-9]+)*$/;

/** The `types` files of a package's entry points. */
function typeEntries(dir, manifest) {
  const targets = [];
  const visit = (value) => {
    if (typeof value === 'string') {
      if (value.endsWith('.d.ts')) targets.push(join(dir, value));
    } else if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'types' || key.startsWith('.')) visit(inner);
      }
    }
  };
  visit(manifest.exports ?? {});
  if (targets.length === 0 && typeof manifest.types === 'string') {
    targets.push(join(dir, manifest.types));
  }
  return [...new Set(targets)];
}

const packages = readdirSync(PACKAGES, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(PACKAGES, entry.name, 'package.json')))
  .map((entry) => {
    const dir = join(PACKAGES, entry.name);
    return { dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) };
  })
  .filter(({ manifest }) => manifest.private !== true)
  .map((pkg) => ({ ...pkg, entries: typeEntries(pkg.dir, pkg.manifest) }))
  .sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));

let failed = false;
const missing = packages.flatMap(({ manifest, entries }) =>
  entries.filter((file) => !existsSync(file)).map((file) => `${manifest.name}: ${file}`),
);
if (missing.length > 0) {
  console.error(`error codes: not built (run pnpm build): ${missing.join(', ')}`);
  process.exit(1);
}

const program = ts.createProgram(
  packages.flatMap(({ entries }) => entries),
  {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
    noEmit: true,
    skipLibCheck: true,
  },
);
const checker = program.getTypeChecker();

/** True when instances of this class type are Errors (some base class is the global `Error`). */
function isErrorClass(type, seen = new Set()) {
  if (seen.has(type)) return false;
  seen.add(type);
  if (type.symbol?.name === 'Error' || type.symbol?.name === 'AggregateError') return true;
  const bases = type.isClassOrInterface() ? checker.getBaseTypes(type) : [];
  return bases.some((base) => isErrorClass(base, seen));
}

for (const { manifest, entries } of packages) {
  const problems = [];
  const classes = new Map();
  for (const file of entries) {
    const source = program.getSourceFile(file);
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (moduleSymbol === undefined) {
      problems.push(`cannot read ${file}`);
      continue;
    }
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol =
        exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (!(symbol.flags & ts.SymbolFlags.Class)) continue;
      const instance = checker.getDeclaredTypeOfSymbol(symbol);
      if (isErrorClass(instance)) classes.set(exported.name, instance);
    }
  }
  const codes = [];
  for (const [name, instance] of classes) {
    const property = instance.getProperty('code');
    if (property === undefined) {
      problems.push(`${name} has no code`);
      continue;
    }
    const type = checker.getTypeOfSymbol(property);
    const members = type.isUnion() ? type.types : [type];
    for (const member of members) {
      if (!member.isStringLiteral()) {
        problems.push(`${name}.code is ${checker.typeToString(type)}, not string literals`);
        break;
      }
      if (!CODE.test(member.value)) problems.push(`${name}.code '${member.value}' is not ERR_…`);
      else codes.push(member.value);
    }
  }
  if (problems.length > 0) {
    failed = true;
    console.log(`FAIL ${manifest.name.padEnd(27)} ${problems.join('; ')}`);
  } else {
    const detail =
      classes.size === 0
        ? 'no error classes'
        : `${classes.size} error classes, ${codes.length} codes`;
    console.log(`OK   ${manifest.name.padEnd(27)} ${detail}`);
  }
}
process.exitCode = failed ? 1 : 0;
