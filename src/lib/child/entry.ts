/** The file and arguments that start a child process's module, compiled (dist/) or from sources (jest). */
import path from 'node:path';

/**
 * `moduleFile` is the caller's sibling module without extension (e.g. join(__dirname, 'import.child')),
 * `compiled` whether the caller itself runs compiled (its own __filename ends in .js).
 */
export function childEntry(moduleFile: string, compiled: boolean): { file: string; args: string[] } {
  return compiled ? { file: `${moduleFile}.js`, args: [] } : { file: path.join(__dirname, 'ts-launch.js'), args: [`${moduleFile}.ts`] };
}
