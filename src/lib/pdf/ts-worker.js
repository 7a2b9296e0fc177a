/**
 * Starts the PDF check's process from its TypeScript source, for when the app itself runs from
 * sources (jest transpiles .ts files in its own module system, which a child process does not
 * share). Compiled builds (dist/) start the compiled worker directly and never use this file.
 * It is plain JavaScript on purpose: it has to run before anything can compile TypeScript.
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

require(path.join(__dirname, 'inspect-pdf.worker.ts')).serve();
