import fs from 'node:fs';
import path from 'node:path';

/** The project root (the nearest folder above this file with a package.json); works from src/ and dist/. */
export function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + __dirname);
    dir = parent;
  }
  return dir;
}

export const viewsDir = () => path.join(projectRoot(), 'views');
