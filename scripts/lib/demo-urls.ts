/**
 * Where the demo finds the devnet: the same variables `npm start` reads (SEQ_HTTP_ADDR for the
 * public API, SEQ_DEVNET_ANVIL_PORT for anvil), so one environment serves both commands;
 * SEQ_DEMO_API and SEQ_DEMO_RPC, whole URLs, win over them.
 */
export function demoUrls(env: Record<string, string | undefined>): { api: string; rpc: string } {
  let api = env.SEQ_DEMO_API;
  if (!api) {
    const addr = env.SEQ_HTTP_ADDR?.trim() || "127.0.0.1:3000";
    const i = addr.lastIndexOf(":");
    let host = addr.slice(0, i);
    // A wildcard listen address is reached on loopback.
    if (host === "0.0.0.0" || host === "" || host === "[::]" || host === "::") host = "127.0.0.1";
    api = `http://${host}:${addr.slice(i + 1)}`;
  }
  const rpc = env.SEQ_DEMO_RPC || `http://127.0.0.1:${env.SEQ_DEVNET_ANVIL_PORT?.trim() || "8545"}`;
  return { api: api.replace(/\/+$/, ""), rpc };
}
