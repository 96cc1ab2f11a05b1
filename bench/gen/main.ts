/**
 * The generator process: runs one scenario against one broker and prints its
 * metrics as the last stdout line (`RESULT {...}`). The runner starts one per
 * run, pinned to the CPU the broker does not use, so every run gets a fresh heap.
 *
 *   node dist/bench/gen/main.js '{"scenario":"qos0-fanin","port":1883,"brokerPid":123,"quick":true}'
 */
import { findScenario } from '../scenarios/index.js';
import type { ScenarioContext } from '../scenarios/types.js';

const args = JSON.parse(process.argv[2] ?? '{}') as ScenarioContext & { scenario: string };
try {
  const metrics = await findScenario(args.scenario).run(args);
  process.stdout.write(`RESULT ${JSON.stringify({ metrics })}\n`);
  process.exit(0);
} catch (err) {
  process.stdout.write(`RESULT ${JSON.stringify({ error: (err as Error).message })}\n`);
  process.exit(0);
}
