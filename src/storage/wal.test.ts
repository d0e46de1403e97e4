/**
 * The checkpoint helpers on a real WAL database with two connections: what "complete" means,
 * and that a complete checkpoint lets the writer's next transaction restart the WAL.
 */
import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../../test/support/sequencer.ts";
import { checkpointWithTailPasses, passiveCheckpoint } from "./wal.ts";

const cleanup: (() => void)[] = [];
afterEach(() => cleanup.splice(0).reverse().forEach((f) => f()));

function setup() {
  const dir = tempDir("wal-");
  const path = join(dir.path, "t.db");
  const writer = new Database(path, { create: true, strict: true });
  writer.exec("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (v BLOB)");
  const other = new Database(path, { strict: true });
  cleanup.push(() => dir.remove(), () => writer.close(), () => other.close());
  const ins = writer.query("INSERT INTO t (v) VALUES (randomblob(3000))");
  const write = (n: number) => writer.transaction(() => { for (let i = 0; i < n; i++) ins.run(); })();
  // mxFrame in the wal-index header: frames written since the WAL last restarted.
  const frames = () => new DataView(readFileSync(`${path}-shm`).buffer).getUint32(16, true);
  return { writer, other, write, frames };
}

test("complete when every frame is copied; the writer's next transaction then restarts the WAL", () => {
  const s = setup();
  for (let i = 0; i < 20; i++) s.write(5);
  const before = s.frames();
  expect(before).toBeGreaterThan(50);
  const r = passiveCheckpoint(s.other);
  expect(r).toMatchObject({ walFrames: before, copied: before, complete: true });
  s.write(1);
  expect(s.frames()).toBeLessThan(10);
});

test("not complete while a reader holds old frames, nor on an empty WAL", () => {
  const s = setup();
  s.write(5);
  s.other.exec("BEGIN");
  s.other.query("SELECT COUNT(*) FROM t").get(); // a read snapshot at this point
  s.write(5);
  const r = passiveCheckpoint(s.writer);
  expect(r.complete).toBe(false);
  expect(r.copied).toBeLessThan(r.walFrames);
  s.other.exec("COMMIT");
  expect(passiveCheckpoint(s.writer).complete).toBe(true);
  // A WAL truncated to nothing has nothing to restart.
  s.writer.query("PRAGMA wal_checkpoint(TRUNCATE)").get();
  expect(passiveCheckpoint(s.writer)).toMatchObject({ walFrames: 0, complete: false });
});

test("tail passes stop as soon as a pass finds nothing new", () => {
  const s = setup();
  for (let i = 0; i < 10; i++) s.write(5);
  const r = checkpointWithTailPasses(s.other, 3);
  expect(r.complete).toBe(true);
  expect(r.copied).toBe(r.walFrames);
});
