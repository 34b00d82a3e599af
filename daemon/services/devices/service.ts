import type { ServiceDefinition, ServiceLogic } from '../../runtime/runtime.js';
import { CommandError, commandSpecs } from '../../runtime/runtime.js';
import { DEVICES_COMMANDS } from './commands.js';
import { deviceConfigs } from '../../runtime/devices.js';
import { DeviceManager } from '../../../drivers/manager.js';
import type { DeviceStatus } from '../../../drivers/driver.js';
import type { SimLane } from '../../../drivers/sim/lane.js';
import type { ScaleCalibratedData } from '../../events/schemas/devices.js';
import { valueProblem } from '../../../drivers/schema-check.js';

/** How a driver's answer to `command` breaks the result schema the driver declares for it, or undefined. */
export function resultProblem(m: DeviceManager, device: string, command: string, result: unknown): string | undefined {
  const spec = m.commands(device).find((c) => c.name === command);
  if (!spec) return undefined;
  const problem = valueProblem(spec.result, result);
  return problem && `${device}: the answer to ${command} breaks the driver's result schema (${problem})`;
}

/**
 * devices: hosts the lane's drivers (the design "Devices"). Each device is its own
 * event source with its own outbox log; state goes out as DeviceStatus events and
 * the retained doc/devices. A device that fails is reported and the rest run.
 */
export function devicesHost(sim: SimLane): ServiceDefinition {
  return {
    name: 'devices',
    role: 'driver',
    create(ctx): ServiceLogic {
      const devices = deviceConfigs(ctx.config);
      let manager: DeviceManager | undefined;
      let latest: DeviceStatus[] = [];
      /** Scans that could not be stored: the screen asks the shopper to scan again (doc/devices `lostScans`). */
      let lostScans = { count: 0, last: undefined as { device: string; time: string; reason: string } | undefined };
      const publishDevices = (): void =>
        ctx.publishDoc('devices', { devices: latest, ...(lostScans.count ? { lostScans } : {}), time: new Date().toISOString() });

      const manage = (): DeviceManager => {
        if (!manager) throw new CommandError('devices are not started yet');
        return manager;
      };

      return {
        async migrate() {
          for (const name of Object.keys(devices)) await ctx.addSource(name);
        },
        async start() {
          manager = new DeviceManager({
            devices,
            log: ctx.log,
            sim,
            stateDir: ctx.stateDir,
            emitFor: (name) => async (type, data, opts) => {
              try {
                await ctx.tx((tx) => ctx.emitAs(name, tx, type, data, opts));
              } catch (err) {
                if (type === 'BarcodeScanned') {
                  lostScans = { count: lostScans.count + 1, last: { device: name, time: new Date().toISOString(), reason: (err as Error).message } };
                  ctx.metrics.scansLost.inc({ device: name });
                  ctx.log.error(
                    { device: name, err: (err as Error).message, lost: lostScans.count },
                    `a scan on ${name} could not be stored; the shopper is asked to scan again`,
                  );
                  publishDevices();
                }
                throw err;
              }
            },
            onStatus: (statuses, changed) => {
              latest = statuses;
              publishDevices();
              ctx.metrics.deviceUp.reset();
              for (const s of statuses) ctx.metrics.deviceUp.set({ device: s.name, kind: s.kind, state: s.state }, 1);
              if (changed) {
                ctx
                  .tx((tx) => ctx.emitAs(changed.name, tx, 'DeviceStatus', changed))
                  .catch((err: Error) => ctx.log.error({ device: changed.name, err: err.message }, 'could not record a device status change'));
              }
            },
          });
          await manager.start();
        },
        async stop() {
          await manager?.stop();
        },
        status: () => ({ devices: latest.map((d) => `${d.name}:${d.state}`) }),
        commands: commandSpecs(DEVICES_COMMANDS, {
          /** All devices with state, last reading and the commands each offers. */
          List: {
            async handle() {
              const m = manage();
              return m
                .status()
                .map((s) => ({ ...s, commands: m.commands(s.name).map(({ name, describe, args }) => ({ name, describe, ...(args ? { args } : {}) })) }));
            },
          },
          /** A technician command of one device (calibrate, zero, blink, selftest...). */
          Run: {
            key: () => 'devices:run',
            async handle(a, tx, m) {
              // a driver's CommandError is the runtime's: its refusal goes to the asker as it is
              const result: unknown = await manage().command(a.device, a.command, a.args ?? {});
              const broken = resultProblem(manage(), a.device, a.command, result);
              // a driver's bug, not the asker's: logged as a failure, and the answer is not passed on
              if (broken) throw new Error(broken);
              const r = result as { before?: ScaleCalibratedData['before']; after?: ScaleCalibratedData['after'] } | undefined;
              if ((a.command === 'calibrate-zero' || a.command === 'calibrate-span') && r?.after) {
                const duringTxn = typeof a.args?.txn === 'string' ? a.args.txn : undefined;
                const data: ScaleCalibratedData = {
                  step: a.command === 'calibrate-zero' ? 'zero' : 'span',
                  by: m.by ?? 'unknown',
                  before: r.before ?? null,
                  after: r.after,
                  forced: a.args?.force === true,
                  ...(duringTxn ? { duringTxn } : {}),
                };
                await ctx.emitAs(a.device, tx, 'ScaleCalibrated', data);
                const was = data.before ? `zero ${data.before.zeroCounts}, ${data.before.countsPerGram.toFixed(3)} counts/g` : 'not calibrated';
                tx.afterCommit(() =>
                  ctx.log.warn(
                    { device: a.device, ...data },
                    `${a.device} calibrated (${data.step}) by ${data.by}${data.forced ? ' with --force' : ''}${duringTxn ? ` during ${duringTxn}` : ''}: ${was} -> zero ${data.after.zeroCounts}, ${data.after.countsPerGram.toFixed(3)} counts/g`,
                  ),
                );
              }
              return result;
            },
          },
        }),
      };
    },
  };
}
