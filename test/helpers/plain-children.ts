/**
 * Loaded into every test process (package.json, tap's node-arg): the processes a test
 * starts (laned, lanectl, the boot check, a payload's node under qemu, ...) run as
 * installed, without the hooks tap's process tracking (@tapjs/processinfo) adds to every
 * child's NODE_OPTIONS. Those hooks record which files each process loaded, for coverage,
 * which is off here (package.json: disable-coverage); in each node child they cost a
 * module loader thread and about as long again as the child's own start-up, and the
 * suite starts hundreds of them.
 *
 * The tracking adds itself to a child's environment through process-on-spawn, whose
 * listeners every copy of it shares under one global symbol; a listener added after
 * tap's (this module is imported after tap's) takes the hook out again. Any other
 * NODE_OPTIONS a test sets stays.
 */
interface SpawnOptions {
  env: Record<string, string | undefined>;
}
interface OnSpawnState {
  listeners: Array<(opts: SpawnOptions) => void>;
}

const state = (globalThis as Record<symbol, OnSpawnState | undefined>)[Symbol.for('process-on-spawn@*:singletonId')];
// NODE_OPTIONS as tap writes it: `"--import=file:///…/@tapjs/processinfo/dist/esm/import.mjs"`, quotes included
const TRACKER = /^"?--(?:import|loader|experimental-loader)=\S*@tapjs[/\\]processinfo\S*"?$/;

export function withoutTracker(nodeOptions: string): string {
  return nodeOptions
    .split(/\s+/)
    .filter((o) => o !== '' && !TRACKER.test(o))
    .join(' ');
}

state?.listeners.push((opts) => {
  const options = opts.env.NODE_OPTIONS;
  if (options === undefined) return;
  const rest = withoutTracker(options);
  const env = { ...opts.env };
  if (rest === '') delete env.NODE_OPTIONS;
  else env.NODE_OPTIONS = rest;
  for (const k of Object.keys(env)) if (k.startsWith('_TAPJS_PROCESSINFO_')) delete env[k];
  opts.env = env;
});

// `npm test -- test/x.test.ts` (or `npx tap test/x.test.ts`): a test file named by its
// source runs through tsx; the suite itself runs compiled from dist/test (package.json).
if (process.argv[1]?.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
