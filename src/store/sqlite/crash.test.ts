import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { SqliteBrokerStore } from './broker-store.js';

const fixture = fileURLToPath(new URL('./crash-writer.fixture.js', import.meta.url));

it('keeps every acknowledged op when the process is SIGKILLed mid-stream', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'halyard-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'broker.db');

  // Far more than it can write before the kill, so it dies while writing.
  const child = spawn(process.execPath, [fixture, path, '10000000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const acked: number[] = [];
  const killAfter = 500;
  createInterface({ input: child.stdout }).on('line', (line) => {
    acked.push(Number(line));
    if (acked.length === killAfter) child.kill('SIGKILL');
  });
  // 'close' comes after stdout has ended, so acknowledgements still in the pipe are counted too.
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (c, s) => resolve([c, s])),
  );
  assert.equal(signal, 'SIGKILL', `writer ended on its own (code ${code}): ${stderr}`);
  assert.ok(acked.length >= killAfter);

  const store = SqliteBrokerStore.open(path);
  const state = await store.load();
  await store.close();
  const stored = new Map(state.outbound.map((e) => [e.seq, e.message.payload.toString()]));
  const missing = acked.filter((seq) => stored.get(seq) !== `payload-${seq}`);
  assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged ops lost`);
  assert.ok(state.maxSeq >= Math.max(...acked));
});
