/**
 * The checkpoint helpers on a real WAL database with two connections: what "complete" means,
 * and that a complete checkpoint lets the writer's next transaction restart the WAL.
 */
import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../../test/support/sequencer.ts";
import { openDatabase } from "./db.ts";
import { checkpointWithTailPasses, passiveCheckpoint, type StartupCheckpoint } from "./wal.ts";

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

test("openDatabase empties the WAL a killed process left, keeping every committed row", async () => {
  const dir = tempDir("wal-crash-");
  cleanup.push(() => dir.remove());
  // A writer in its own process, killed with SIGKILL after its commits: no close, no
  // checkpoint, so its frames stay in sequencer.db-wal (what a crash loop leaves).
  const child = Bun.spawn(
    [
      process.execPath,
      "-e",
      `import { openDatabase } from ${JSON.stringify(join(import.meta.dir, "db.ts"))};
       const db = openDatabase(${JSON.stringify(dir.path)});
       db.exec("CREATE TABLE filler (v BLOB)");
       const ins = db.query("INSERT INTO filler (v) VALUES (randomblob(4000))");
       for (let i = 0; i < 40; i++) db.transaction(() => { for (let j = 0; j < 50; j++) ins.run(); })();
       console.log("written");
       setInterval(() => {}, 1000);`,
    ],
    { stdout: "pipe", stderr: "inherit" },
  );
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
  const first = await reader.read();
  expect(new TextDecoder().decode(first.value)).toContain("written");
  child.kill("SIGKILL");
  await child.exited;
  const wal = join(dir.path, "sequencer.db-wal");
  const leftBehind = statSync(wal).size;
  expect(leftBehind).toBeGreaterThan(2000 * 4000);

  const seen: StartupCheckpoint[] = [];
  const db = openDatabase(dir.path, { onWalCheckpoint: (c) => seen.push(c) });
  cleanup.push(() => db.close());
  expect(seen).toHaveLength(1);
  expect(seen[0]).toMatchObject({ walBytes: leftBehind, truncated: true });
  expect(statSync(wal).size).toBe(0);
  expect((db.query("SELECT COUNT(*) AS n FROM filler").get() as { n: number }).n).toBe(2000);
});

test("a clean open reports no startup checkpoint", () => {
  const dir = tempDir("wal-clean-");
  cleanup.push(() => dir.remove());
  const seen: StartupCheckpoint[] = [];
  openDatabase(dir.path).close();
  const db = openDatabase(dir.path, { onWalCheckpoint: (c) => seen.push(c) });
  cleanup.push(() => db.close());
  expect(seen).toEqual([]);
});
