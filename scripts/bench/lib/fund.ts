/**
 * Funds fresh bench senders on L2, the way scripts/bench/ack-latency.ts does: anvil_setBalance
 * gives each key L1 ether, then the key itself deposits through the EtherPortal (which credits
 * msg.sender). Deposits are signed locally and sent as raw transactions, many at a time.
 */
import { encodeFunctionData, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { etherPortalAbi } from "../../../src/l1/contracts.ts";
import type { DevnetAnvil } from "../../lib/devnet-anvil.ts";
import { subscribe } from "../../lib/http-client.ts";

export interface FundedSender {
  key: Hex;
  address: string;
}

export async function fundSenders(
  anvil: DevnetAnvil,
  seqUrl: string,
  n: number,
  log: (m: string) => void,
): Promise<FundedSender[]> {
  const keys = Array.from({ length: n }, () => generatePrivateKey());
  const accounts = keys.map((k) => privateKeyToAccount(k));
  const wanted = new Set(accounts.map((a) => a.address.toLowerCase()));
  let credited = 0;
  const feed = subscribe(seqUrl);
  await feed.opened;
  const done = new Promise<void>((resolve) => {
    const check = setInterval(() => {
      credited = 0;
      // EtherPortal inputs are sent by the portal; the depositor leads the payload (packed).
      for (const m of feed.messages) {
        if (m.kind === "direct_input" && wanted.has(`0x${String(m.payload).slice(2, 42).toLowerCase()}`)) credited++;
      }
      if (credited >= n) {
        clearInterval(check);
        resolve();
      }
    }, 50);
  });

  const chainId = anvil.publicClient.chain.id;
  const data = encodeFunctionData({
    abi: etherPortalAbi,
    functionName: "depositEther",
    args: [anvil.deployment.application, "0x"],
  });
  const rpc = (method: string, params: unknown[]) =>
    anvil.publicClient.request({ method: method as never, params: params as never });
  const CHUNK = 32;
  for (let i = 0; i < n; i += CHUNK) {
    const part = accounts.slice(i, i + CHUNK);
    const hashes = await Promise.all(
      part.map(async (account) => {
        await rpc("anvil_setBalance", [account.address, "0xde0b6b3a7640000"]); // 1 ETH
        const raw = await account.signTransaction({
          type: "eip1559",
          chainId,
          nonce: 0,
          to: anvil.deployment.etherPortal,
          data,
          value: 10n ** 17n,
          gas: 300_000n,
          maxFeePerGas: 50_000_000_000n,
          maxPriorityFeePerGas: 1_000_000_000n,
        });
        return (await rpc("eth_sendRawTransaction", [raw])) as Hex;
      }),
    );
    for (const hash of hashes) {
      const receipt = await anvil.publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`deposit ${hash} reverted`);
    }
  }
  // Let the deposits become safe and the lane drain them as direct inputs.
  await anvil.mine(7);
  const end = Date.now() + 60_000;
  let timer: ReturnType<typeof setInterval> | undefined;
  const mining = new Promise<void>((_, reject) => {
    timer = setInterval(() => {
      if (Date.now() > end) reject(new Error(`only ${credited}/${n} deposits reached the feed in 60 s`));
      else void anvil.mine(1);
    }, 2000);
  });
  try {
    await Promise.race([done, mining]);
  } finally {
    clearInterval(timer);
    feed.close();
  }
  log(`funded ${n} senders (0.1 ETH each on L2)`);
  return keys.map((key, i) => ({ key, address: accounts[i]!.address.toLowerCase() }));
}
