/**
 * Starts a child process's module from its TypeScript source (`node ts-launch.js <module.ts>`),
 * for when the app itself runs from sources: jest transpiles .ts files in its own module system,
 * which a child process does not share. Compiled builds (dist/) start the compiled module
 * directly and never use this file (see childEntry). Plain JavaScript on purpose: it has to run
 * before anything can compile TypeScript. The module exports `serve()`.
 */
'use strict';
const fs = require('node:fs');
const swc = require('@swc/core'); // a development dependency, like the sources themselves

require.extensions['.ts'] = (module, filename) => {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};

require(process.argv[2]).serve();
