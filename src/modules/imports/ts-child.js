/**
 * Starts the import's process from its TypeScript source, for when the app itself runs from
 * sources (jest); compiled builds (dist/) start import.child.js directly. Plain JavaScript on
 * purpose: it runs before anything can compile TypeScript (as src/lib/pdf/ts-worker.js).
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const swc = require('@swc/core'); // a development dependency, like the sources themselves

require.extensions['.ts'] = (module, filename) => {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};

require(path.join(__dirname, 'import.child.ts')).serve();
