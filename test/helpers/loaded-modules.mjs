// Loaded with `node --import`: at exit, writes the CommonJS modules the process loaded
// (serialport and its packages are CommonJS) to the file named by LANED_LOADED_MODULES.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
process.on('exit', () => writeFileSync(process.env.LANED_LOADED_MODULES, JSON.stringify(Object.keys(require.cache))));
