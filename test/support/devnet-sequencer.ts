/**
 * The setup most end-to-end tests share: a devnet anvil, the sequencer as a child process on
 * a fresh data dir, one funded account (an EtherPortal deposit from devnet account `fund`,
 * made safe and seen on the feed) and, when asked, a read-only handle on the database file
 * to check what was stored. Registers beforeAll/afterAll in the calling file and stops
 * everything it started, even when a test fails.
 *
 *   const dn = useDevnetSequencer({ env: { SEQ_LANE_QUEUE_CAPACITY: "2" }, fund: 4, db: true });
 *   test("x", async () => { await postTx(dn().seq.url, …); });
 */
import { afterAll, beforeAll } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { withDevnetAnvil, type DevnetAnvil } from "./anvil.ts";
import { subscribe, type FeedClient } from "./client.ts";
import { startSequencerProcess, tempDir, type SequencerProcess } from "./sequencer.ts";

export interface DevnetSequencer {
  anvil: DevnetAnvil;
  seq: SequencerProcess;
  dir: { path: string; remove(): void };
  /** Read-only connection to sequencer.db (with `db: true`). */
  db: Database;
  /** A feed subscription opened before the deposit, kept open (with `keepFeed: true`). */
  feed: FeedClient;
}

export interface DevnetSequencerOptions {
  env?: Record<string, string>;
  /** Devnet account index whose deposit of 1 ETH is made and awaited (default 4). */
  fund?: number;
  db?: boolean;
  keepFeed?: boolean;
  /** Runs after everything else in afterAll (files the test made, …). */
  cleanup?: () => void;
}

export function useDevnetSequencer(o: DevnetSequencerOptions = {}): () => DevnetSequencer {
  const dir = tempDir();
  let anvil: DevnetAnvil | undefined;
  let seq: SequencerProcess | undefined;
  let db: Database | undefined;
  let feed: FeedClient | undefined;
  beforeAll(async () => {
    anvil = await withDevnetAnvil();
    seq = await startSequencerProcess({ rpcUrl: anvil.url, dataDir: dir.path, ...(o.env ? { env: o.env } : {}) });
    if (o.db) db = new Database(join(dir.path, "sequencer.db"), { readonly: true });
    feed = subscribe(seq.url);
    await feed.opened;
    await anvil.deposit(o.fund ?? 4, 10n ** 18n);
    await anvil.mine(7);
    await feed.waitFor(1);
    if (!o.keepFeed) feed.close();
  });
  afterAll(async () => {
    feed?.close();
    db?.close();
    await seq?.stop();
    await anvil?.stop();
    dir.remove();
    o.cleanup?.();
  });
  return () => {
    if (!anvil || !seq || !feed) throw new Error("devnet sequencer not started (use the getter inside a test)");
    return {
      anvil,
      seq,
      dir,
      get db(): Database {
        if (!db) throw new Error("useDevnetSequencer: pass { db: true } to read the database");
        return db;
      },
      feed,
    };
  };
}
