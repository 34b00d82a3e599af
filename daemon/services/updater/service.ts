import { Type } from '@sinclair/typebox';
import { isAbsolute } from 'node:path';
import { CommandError, type ServiceDefinition, type ServiceLogic } from '../../runtime/runtime.js';
import { defaultUpdaterRoot, stateFilePath } from '../../updater/layout.js';
import { UpdateRefused } from '../../updater/manifest.js';
import { trustedKeys } from '../../updater/settings.js';
import { Stager } from '../../updater/stage.js';
import { UpdaterStateKeeper } from '../../updater/state-file.js';
import { UpdateSources } from '../../updater/sources.js';
import { createSwitcher, type Switcher } from '../../updater/switcher.js';
import type { UpdaterServiceSettings } from './settings.js';

const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' });

/** An update offer (`cmd/updater/Offer`): where the bundle is, what it hashes to, its size and version, and when to switch. */
export const UpdateOfferArgs = Type.Object(
  {
    url: Type.String({ pattern: '^https?://', maxLength: 2048 }),
    sha256: Sha256,
    size: Type.Integer({ minimum: 1 }),
    version: Type.String({ pattern: '^\\d{1,9}\\.\\d{1,9}\\.\\d{1,9}(-[0-9A-Za-z.-]{1,32})?$' }),
    window: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);

/**
 * The updater: takes bundles from the inbox, `lanectl update apply` and store
 * IT's offers, checks and stages each into the inactive slot (daemon/updater/).
 * A staged bundle waits in its slot, state `staged`, for the switch.
 */
export const updater: ServiceDefinition<UpdaterServiceSettings> = {
  name: 'updater',
  create(ctx): ServiceLogic {
    const settings = ctx.config.updater;
    const root = settings.root ?? defaultUpdaterRoot(ctx.stateDir);
    const log = ctx.log;
    // every change: one journal line per transition, doc/updater, /metrics (the switcher, daemon/updater/switcher.ts)
    // eslint-disable-next-line prefer-const -- the keeper calls the switcher, which is made with the keeper
    let switcher: Switcher | undefined;
    const keeper = new UpdaterStateKeeper(stateFilePath(root), (s) => switcher?.changed(s));
    switcher = createSwitcher(ctx, keeper, root);
    if (keeper.problem) log.error({ file: keeper.file }, keeper.problem);
    const maxBytes = settings.maxBundleMB * 1024 * 1024;
    // the config load checked the keys (exit 78 on a bad one); relative files were resolved there
    const { keys } = trustedKeys(settings, ctx.stateDir);
    const stager = new Stager({ root, keeper, keys, revokedKeys: settings.revokedKeys, maxBytes, log });
    const sources = new UpdateSources({
      stateDir: ctx.stateDir,
      root,
      stager,
      keeper,
      log,
      maxBytes,
      onStaged: (staged, origin) =>
        log.info(
          { slot: staged.slot, version: staged.version, origin: origin.kind },
          `update ${staged.version} staged in slot ${staged.slot}; it waits there for the switch`,
        ),
      onRefused: (code) => ctx.metrics.rejected.inc({ service: 'updater', reason: code }),
    });
    return {
      commands: {
        ...switcher.commands,
        /** `lanectl update apply FILE`: check and stage a bundle file the daemon can read. */
        Apply: {
          args: Type.Object({ path: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false }),
          key: () => 'stage',
          async handle(args: { path: string }, _tx, meta) {
            if (!isAbsolute(args.path)) throw new CommandError(`Apply: ${args.path} is not an absolute path`);
            try {
              const staged = await sources.apply(args.path, meta.by);
              return { slot: staged.slot, version: staged.version, manifestSha256: staged.manifestSha256 };
            } catch (err) {
              if (err instanceof UpdateRefused) throw new CommandError(`${args.path} refused (${err.code}): ${err.message}`);
              throw err;
            }
          },
        },
        /** Store IT offers an update: downloaded (with resume) and staged in the background. */
        Offer: {
          args: UpdateOfferArgs,
          key: () => 'offer',
          async handle(args: { url: string; sha256: string; size: number; version: string; window?: string }) {
            const r = sources.offer(args);
            if (!r.accepted) {
              ctx.metrics.rejected.inc({ service: 'updater', reason: 'offer' });
              throw new CommandError(`offer of ${args.version} not taken: ${r.reason}`);
            }
            return r;
          },
        },
      },
      async start() {
        stager.recover();
        switcher.start();
        await sources.start();
      },
      async stop() {
        switcher.stop();
        await sources.stop();
      },
      status() {
        const s = keeper.get();
        return { ...switcher.status(), state: s.state, ...(s.reason ? { reason: s.reason } : {}), ...(s.staged ? { staged: s.staged.version } : {}) };
      },
    };
  },
};
