// The size of the core SDK as an app ships it: dist/index.js bundled with its one dependency
// (eventsource-parser), minified by esbuild, then gzipped. `--check` fails above the 8 KB budget.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const BUDGET = 8 * 1024;
const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const result = await build({ entryPoints: [entry], bundle: true, minify: true, format: 'esm', platform: 'browser', target: 'es2022', write: false });
const code = result.outputFiles[0].contents;
const gzipped = gzipSync(code, { level: 9 }).length;
console.log(`core SDK (@cyberhub/sdk, with eventsource-parser): ${(code.length / 1024).toFixed(1)} KB minified, ${(gzipped / 1024).toFixed(2)} KB minified + gzipped (budget ${BUDGET / 1024} KB)`);
if (process.argv.includes('--check') && gzipped > BUDGET) {
  console.error(`over budget by ${gzipped - BUDGET} bytes`);
  process.exit(1);
}
