// `npm run asyncapi`: write the lane's AsyncAPI document to docs/asyncapi.yaml.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asyncApiYaml } from './asyncapi.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const file = join(root.endsWith('dist') ? dirname(root) : root, 'docs', 'asyncapi.yaml');
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, asyncApiYaml());
process.stdout.write(`wrote ${file}\n`);
