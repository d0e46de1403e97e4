/**
 * ReaderStore.append against a real SQLite file: inputs and heads move together or not at
 * all, and a gap in the input indices is refused with nothing written.
 */
import { afterEach, expect, test } from "bun:test";
import { tempDir } from "../../test/support/sequencer.ts";
import { openDatabase, StorageError } from "./db.ts";
import { ReaderStore, type SafeInputRow } from "./reader-store.ts";

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function store(): { db: ReturnType<typeof openDatabase>; s: ReaderStore } {
  const dir = tempDir("reader-store-");
  const db = openDatabase(dir.path);
  cleanups.push(() => {
    db.close();
    dir.remove();
  });
  return { db, s: new ReaderStore(db) };
}

const input = (inputIndex: number, blockNumber: number): SafeInputRow => ({
  inputIndex,
  sender: new Uint8Array(20).fill(7),
  blockNumber,
  blockTimestamp: 1,
  txHash: new Uint8Array(32).fill(inputIndex),
  payload: new Uint8Array([inputIndex]),
});
const heads = (b: number) => ({ safeBlock: b, finalizedBlock: b, scannedThroughBlock: b });

test("appends inputs and heads in one transaction, many times", () => {
  const { s } = store();
  s.append([input(0, 3), input(1, 4)], heads(5), 10);
  s.append([input(2, 6)], heads(8), 20);
  expect(s.nextInputIndex()).toBe(3);
  expect(s.heads()).toMatchObject({ safeBlock: 8, scannedThroughBlock: 8 });
});

test("a gap in the indices is refused and nothing of that append is written; the next append works", () => {
  const { db, s } = store();
  s.append([input(0, 3)], heads(5), 10);
  expect(() => s.append([input(1, 6), input(3, 7)], heads(9), 20)).toThrow(StorageError);
  expect(s.nextInputIndex()).toBe(1);
  expect(s.heads()).toMatchObject({ safeBlock: 5, scannedThroughBlock: 5 });
  expect(db.inTransaction).toBe(false);
  s.append([input(1, 6)], heads(9), 30);
  expect(s.nextInputIndex()).toBe(2);
  expect(s.heads()!.safeBlock).toBe(9);
});

test("an input past the scanned range is refused with nothing written", () => {
  const { s } = store();
  expect(() => s.append([input(0, 12)], heads(10), 10)).toThrow(/past the scanned range/);
  expect(s.nextInputIndex()).toBe(0);
  expect(s.heads()).toBeNull();
});
