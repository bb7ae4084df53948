// Builds the playground into one directory: index.html, app.css, and app.js (src/app.js with the
// JavaScript client, @hpke/core and wabt bundled by esbuild; no CDN, nothing fetched at run time).
//   node build.mjs --modules DIR/node_modules --out DIR
// CMake runs it (clients/playground/CMakeLists.txt) after `npm ci` into the build directory;
// --modules says where those packages are, since the sources here have no node_modules beside them.
import { createRequire } from 'node:module';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { modules: { type: 'string' }, out: { type: 'string' } } });
const modules = resolve(values.modules ?? join(here, 'node_modules'));
const out = resolve(values.out ?? join(here, 'dist'));
const esbuild = createRequire(join(modules, 'noop.js'))('esbuild');

mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: [join(here, 'src/app.js')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome111', 'firefox115', 'safari16.4'],
  minify: true,
  sourcemap: false,
  legalComments: 'eof',
  nodePaths: [modules],
  // The client's sources live in clients/js, which may have a node_modules of its own (its tests'):
  // the bundle takes @hpke/core from this package's lock file, always.
  alias: { '@hpke/core': join(modules, '@hpke/core') },
  // wabt's Emscripten loader has a Node.js branch that requires "fs"; it never runs in a browser.
  external: ['fs'],
  logLevel: 'warning',
});
for (const f of ['index.html', 'app.css']) copyFileSync(join(here, 'src', f), join(out, f));
