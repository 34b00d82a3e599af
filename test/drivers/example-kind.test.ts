import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { DeviceManager } from '../../drivers/manager.js';
import { defineKind } from '../../drivers/kind.js';
import { registerDeviceKind } from '../../drivers/registry.js';
import { Publisher } from '../../drivers/publish.js';
import { StatusKeeper } from '../../drivers/status.js';
import { simEnv } from '../../drivers/sim/env.js';
import { SimLane } from '../../drivers/sim/lane.js';
import { VirtualClock } from '../../drivers/sim/virtual-clock.js';
import { silentLogger } from '../../drivers/log.js';
import type { DeviceStatus, Driver, DriverContext } from '../../drivers/driver.js';
import type { CommandSpec } from '../../drivers/command.js';
import { resultProblem } from '../../daemon/services/devices/service.js';
import { validateConfig } from '../../daemon/core/config.js';
import { devicesWith } from '../../daemon/runtime/devices.js';
import { laneNeeds } from '../../daemon/services/attendant/needs.js';
import { dataProblem } from '../../daemon/events/schema.js';
import { until } from '../helpers/lane.js';
import '../../daemon/events/schemas/devices.js';

// Adding a device kind is one folder plus one registry line. This test is that folder:
// a counter-top "code reader" (a second scanner kind) whose twin hands codes straight
// to the driver. Registered here only, the lane then uses it as a scanner: the device
// manager runs it on its twin, the services that want scanners find it, the lane needs it.

const CodeReaderSchema = Type.Object(
  { kind: Type.Literal('code-reader'), simulate: Type.Boolean({ default: false }), prefix: Type.String({ default: '' }) },
  { additionalProperties: false },
);
type CodeReaderConfig = { kind: 'code-reader'; simulate: boolean; prefix: string };

/** The twin's lowest layer: a callback the driver hands its reads to. */
interface Wire {
  onCode?(code: string): void;
}

/** The reader's one technician command, and its result. */
// left open (no additionalProperties: false): the devices service still refuses a field it does not name
const ReadResult = Type.Object({ reads: Type.Integer({ minimum: 0 }) });

class CodeReader implements Driver {
  readonly kind = 'code-reader';
  private reads = 0;
  private readonly keeper: StatusKeeper;
  private readonly pub: Publisher;
  constructor(
    private readonly ctx: DriverContext<CodeReaderConfig>,
    private readonly wire: Wire,
  ) {
    this.keeper = new StatusKeeper(ctx, 'code-reader', true);
    this.pub = new Publisher(ctx, ctx.log);
  }
  get name(): string {
    return this.ctx.name;
  }
  async start(): Promise<void> {
    this.wire.onCode = (code) => {
      const raw = `${this.ctx.config.prefix}${code}`;
      this.reads += 1;
      void this.pub.emit('BarcodeScanned', { raw, symbology: 'unknown' });
      this.keeper.reading(raw);
    };
    this.keeper.set('ok');
  }
  async stop(): Promise<void> {
    this.wire.onCode = undefined;
    this.keeper.set('stopped');
  }
  status(): DeviceStatus {
    return this.keeper.get();
  }
  commands(): CommandSpec[] {
    return [{ name: 'read', describe: 'codes read since start', result: ReadResult }];
  }
  async command(name: string, args: Record<string, unknown>): Promise<unknown> {
    // `verbose` stands for a driver whose answer has grown a field its schema does not name
    return { reads: this.reads, ...(args.verbose ? { lastPrefix: this.ctx.config.prefix } : {}) };
  }
}

const wires = new Map<string, Wire>();

const codeReader = defineKind({
  schema: CodeReaderSchema,
  bus: 'hid',
  describe: 'counter-top code reader (test only)',
  capabilities: ['scanner'],
  events: ['BarcodeScanned'],
  actions: ['scan'],
  load: async () => ({
    create: (ctx) => new CodeReader(ctx, wires.get(ctx.name) ?? {}),
    twin: async (_c, b) => {
      const wire: Wire = {};
      wires.set(b.name, wire);
      return { twin: { scan: (code) => wire.onCode?.(code) }, env: simEnv({ timers: b.timers, stateDir: b.stateDir }) };
    },
  }),
});

registerDeviceKind('code-reader', codeReader);

t.test('a kind added in one place: the lane runs it and finds it by capability', async (t) => {
  const devices = {
    counter: { kind: 'code-reader', simulate: true, prefix: 'C' },
    bagscale: { kind: 'nau7802', simulate: true, division: 2, capacityG: 30000, nominalCountsPerGram: 100, requireCalibration: false },
  };
  const config = validateConfig({ devices }, 'test config');
  t.same(devicesWith(config, 'scanner'), ['counter'], 'the services that consume scanners find it');
  t.same(devicesWith(config, 'bagging-scale'), ['bagscale']);
  t.same(
    laneNeeds(config).map((n) => [n.name, n.devices]),
    [
      ['scanner', ['counter']],
      ['bagging-scale', ['bagscale']],
    ],
    'the lane needs it as its scanner',
  );

  const clock = new VirtualClock();
  const sim = new SimLane({ timers: clock });
  t.teardown(() => sim.close());
  const events: { source: string; type: string; data: unknown }[] = [];
  const problems: string[] = [];
  const m = new DeviceManager({
    devices,
    log: silentLogger(),
    emitFor: (source) => async (type, data) => {
      const p = dataProblem(type, 1, data);
      if (p) problems.push(`${source} ${type}: ${p}`);
      events.push({ source, type, data });
    },
    onStatus: () => undefined,
    sim,
    stateDir: mkdtempSync(join(tmpdir(), 'laned-kind-')),
    timers: clock,
  });
  await m.start();
  await clock.advance(1500);
  t.equal(m.status().find((s) => s.name === 'counter')?.state, 'ok', 'it runs on its twin');
  t.same(
    sim.devices().find((d) => d.name === 'counter'),
    { name: 'counter', kind: 'code-reader', actions: ['scan'] },
    'sim knows what it can do',
  );
  t.equal(sim.defaultDevice('scan'), 'counter', 'lanectl sim scan reaches it');
  sim.scan('counter', '4006381333931');
  await until(() => events.some((e) => e.type === 'BarcodeScanned'), 10_000, 'the read published');
  t.same(
    events.filter((e) => e.type === 'BarcodeScanned'),
    [{ source: 'counter', type: 'BarcodeScanned', data: { raw: 'C4006381333931', symbology: 'unknown' } }],
  );
  t.same(problems, [], 'what it publishes matches the event schemas');
  t.throws(() => sim.weight('counter', 10), /"counter" is a code-reader; weight works on nau7802/);

  // its command, as the devices service runs it: the answer checked against the declared result
  t.same(await m.command('counter', 'read'), { reads: 1 });
  t.equal(resultProblem(m, 'counter', 'read', await m.command('counter', 'read')), undefined, 'an answer within its schema passes');
  t.equal(
    resultProblem(m, 'counter', 'read', await m.command('counter', 'read', { verbose: true })),
    "counter: the answer to read breaks the driver's result schema (/lastPrefix: a field its schema does not name)",
  );
  t.equal(
    resultProblem(m, 'counter', 'read', { reads: -1 }),
    "counter: the answer to read breaks the driver's result schema (/reads: Expected integer to be greater or equal to 0)",
  );
  await m.stop();
});
