/** The modules under src/modules depend on each other one way: no module imports one that (directly or not) imports it back. */
import fs from 'node:fs';
import path from 'node:path';

const MODULES = path.join(__dirname, '../../src/modules');

/** module → the other modules its files import (by relative path). */
function moduleGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const mod of fs.readdirSync(MODULES)) {
    const dir = path.join(MODULES, mod);
    if (!fs.statSync(dir).isDirectory()) continue;
    const deps = new Set<string>();
    for (const file of fs.readdirSync(dir, { recursive: true }) as string[]) {
      if (!/\.ts$/.test(file)) continue;
      const source = fs.readFileSync(path.join(dir, file), 'utf8');
      for (const m of source.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
        const target = path.relative(MODULES, path.resolve(path.dirname(path.join(dir, file)), m[1]));
        const other = target.split(path.sep)[0];
        if (!target.startsWith('..') && other !== mod) deps.add(other);
      }
    }
    graph.set(mod, deps);
  }
  return graph;
}

/** Every cycle found by a depth-first walk, as "a → b → a". */
function cycles(graph: Map<string, Set<string>>): string[] {
  const found: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (m: string) => {
    state.set(m, 'visiting');
    stack.push(m);
    for (const d of graph.get(m) ?? []) {
      if (state.get(d) === 'visiting') found.push([...stack.slice(stack.indexOf(d)), d].join(' → '));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(m, 'done');
  };
  for (const m of graph.keys()) if (!state.has(m)) visit(m);
  return found;
}

it('finds the modules and their imports', () => {
  const graph = moduleGraph();
  // The walk itself works: known edges are seen (so an empty cycle list below means something).
  expect([...graph.get('review')!]).toEqual(expect.arrayContaining(['contracts', 'turnover', 'registrations']));
  expect([...graph.get('turnover')!]).toContain('registrations');
  expect(cycles(new Map([['a', new Set(['b'])], ['b', new Set(['c'])], ['c', new Set(['a'])]]))).toEqual(['a → b → c → a']);
});

it('has no import loop between modules', () => {
  expect(cycles(moduleGraph())).toEqual([]);
});
