import { connect, createServer, type Socket } from "node:net";

export interface TcpProxy {
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
  /** Cuts every connection through the proxy (both sides), as a network failure would. */
  dropAll(): void;
  /** While refusing, new connections are closed at once. */
  setRefusing(refusing: boolean): void;
  /** Connections accepted so far. */
  readonly accepted: number;
  stop(): Promise<void>;
}

/** A TCP proxy on an ephemeral loopback port in front of `upstreamPort`, for cutting connections. */
export function startTcpProxy(upstreamPort: number): Promise<TcpProxy> {
  const live = new Set<Socket>();
  let refusing = false;
  let accepted = 0;
  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    accepted++;
    const upstream = connect(upstreamPort, "127.0.0.1");
    live.add(client);
    live.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      live.delete(client);
      live.delete(upstream);
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        port,
        url: `http://127.0.0.1:${port}`,
        dropAll: () => {
          for (const s of [...live]) s.destroy();
          live.clear();
        },
        setRefusing: (r) => {
          refusing = r;
        },
        get accepted() {
          return accepted;
        },
        stop: () =>
          new Promise<void>((res) => {
            for (const s of live) s.destroy();
            server.close(() => res());
          }),
      });
    });
  });
}
