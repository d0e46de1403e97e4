/**
 * N client loops on one URL until `stop()`: each sends GET, reads the whole body, and waits
 * out the rest of `paceMs` before its next request (0: as fast as answered). Shared by the
 * inspect bench's in-process phases and its neighbour process (neighbours.ts).
 */
export async function pacedClients(url: string, clients: number, stop: () => boolean, paceMs = 0): Promise<{ lat: number[]; failed: string | null }> {
  const lat: number[] = [];
  let failed: string | null = null;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (!stop() && failed === null) {
        const t0 = performance.now();
        const r = await fetch(url);
        await r.arrayBuffer();
        if (r.status !== 200) failed = `${url} answered ${r.status}`;
        lat.push(performance.now() - t0);
        if (paceMs > 0) await Bun.sleep(Math.max(0, paceMs - (performance.now() - t0)));
      }
    }),
  );
  return { lat, failed };
}
