import type { CommandSpec } from '../../drivers/command.js';
import { valueProblem } from '../../drivers/schema-check.js';

/** A driver's technician command whose answer must match the result schema the driver declares for it (as the devices service checks). */
export async function checkedCommand(
  driver: { commands(): CommandSpec[]; command(name: string, args: Record<string, unknown>): Promise<unknown> },
  name: string,
  args: Record<string, unknown> = {},
): Promise<unknown> {
  const result = await driver.command(name, args);
  const spec = driver.commands().find((c) => c.name === name);
  if (!spec) throw new Error(`${name} answered but is not among the driver's commands`);
  const problem = valueProblem(spec.result, result);
  if (problem) throw new Error(`the answer to ${name} breaks its result schema (${problem}): ${JSON.stringify(result)}`);
  return result;
}
