/**
 * Cartesi rollups contract ABIs (from @cartesi/rollups 2.2.0), the devnet deployment and
 * anvil's public development keys.
 *
 * The ABIs are declared inline `as const` so viem can infer argument and event types; they are
 * copied from the artifacts in `node_modules/@cartesi/rollups/out/<Name>.sol/<Name>.json` and
 * `test/l1/contracts.test.ts` checks that they are deep-equal to the artifact fragments. Keeping
 * the artifacts out of this module also keeps their bytecode/metadata out of the binary.
 */
import { type Address, type Hex, encodePacked, getAddress, isAddress, isHex, toFunctionSelector } from "viem";
import { bytesEqual, bytesToHex, hexToBytes } from "../core/bytes.ts";
import { DecodeError } from "../core/errors.ts";
import deploymentJson from "../../devnet/deployment.json";

/** `InputBox` — full ABI. */
export const inputBoxAbi = [
  {
    type: "function",
    name: "addInput",
    inputs: [
      { name: "appContract", type: "address", internalType: "address" },
      { name: "payload", type: "bytes", internalType: "bytes" },
    ],
    outputs: [{ name: "", type: "bytes32", internalType: "bytes32" }],
    stateMutability: "nonpayable",
  },
  {
    type: "function",
    name: "getDeploymentBlockNumber",
    inputs: [],
    outputs: [{ name: "", type: "uint256", internalType: "uint256" }],
    stateMutability: "view",
  },
  {
    type: "function",
    name: "getInputHash",
    inputs: [
      { name: "appContract", type: "address", internalType: "address" },
      { name: "index", type: "uint256", internalType: "uint256" },
    ],
    outputs: [{ name: "", type: "bytes32", internalType: "bytes32" }],
    stateMutability: "view",
  },
  {
    type: "function",
    name: "getNumberOfInputs",
    inputs: [{ name: "appContract", type: "address", internalType: "address" }],
    outputs: [{ name: "", type: "uint256", internalType: "uint256" }],
    stateMutability: "view",
  },
  {
    type: "event",
    name: "InputAdded",
    inputs: [
      { name: "appContract", type: "address", indexed: true, internalType: "address" },
      { name: "index", type: "uint256", indexed: true, internalType: "uint256" },
      { name: "input", type: "bytes", indexed: false, internalType: "bytes" },
    ],
    anonymous: false,
  },
  {
    type: "error",
    name: "InputTooLarge",
    inputs: [
      { name: "appContract", type: "address", internalType: "address" },
      { name: "inputLength", type: "uint256", internalType: "uint256" },
      { name: "maxInputLength", type: "uint256", internalType: "uint256" },
    ],
  },
] as const;

/** The `InputAdded` event fragment alone (handy for `getLogs({ event })`). */
export const inputAddedEvent = inputBoxAbi[4];

/** `EtherPortal` — full ABI. */
export const etherPortalAbi = [
  {
    type: "constructor",
    inputs: [{ name: "inputBox", type: "address", internalType: "contract IInputBox" }],
    stateMutability: "nonpayable",
  },
  {
    type: "function",
    name: "depositEther",
    inputs: [
      { name: "appContract", type: "address", internalType: "address" },
      { name: "execLayerData", type: "bytes", internalType: "bytes" },
    ],
    outputs: [],
    stateMutability: "payable",
  },
  {
    type: "function",
    name: "getInputBox",
    inputs: [],
    outputs: [{ name: "", type: "address", internalType: "contract IInputBox" }],
    stateMutability: "view",
  },
  { type: "error", name: "EtherTransferFailed", inputs: [] },
] as const;

/** `ERC20Portal` — full ABI. */
export const erc20PortalAbi = [
  {
    type: "constructor",
    inputs: [{ name: "inputBox", type: "address", internalType: "contract IInputBox" }],
    stateMutability: "nonpayable",
  },
  {
    type: "function",
    name: "depositERC20Tokens",
    inputs: [
      { name: "token", type: "address", internalType: "contract IERC20" },
      { name: "appContract", type: "address", internalType: "address" },
      { name: "value", type: "uint256", internalType: "uint256" },
      { name: "execLayerData", type: "bytes", internalType: "bytes" },
    ],
    outputs: [],
    stateMutability: "nonpayable",
  },
  {
    type: "function",
    name: "getInputBox",
    inputs: [],
    outputs: [{ name: "", type: "address", internalType: "contract IInputBox" }],
    stateMutability: "view",
  },
  { type: "error", name: "ERC20TransferFailed", inputs: [] },
] as const;

/**
 * `Inputs` — full ABI: the single pseudo-function `EvmAdvance` whose calldata encoding is the
 * `input` field of `InputAdded`.
 */
export const inputsAbi = [
  {
    type: "function",
    name: "EvmAdvance",
    inputs: [
      { name: "chainId", type: "uint256", internalType: "uint256" },
      { name: "appContract", type: "address", internalType: "address" },
      { name: "msgSender", type: "address", internalType: "address" },
      { name: "blockNumber", type: "uint256", internalType: "uint256" },
      { name: "blockTimestamp", type: "uint256", internalType: "uint256" },
      { name: "prevRandao", type: "uint256", internalType: "uint256" },
      { name: "index", type: "uint256", internalType: "uint256" },
      { name: "payload", type: "bytes", internalType: "bytes" },
    ],
    outputs: [],
    stateMutability: "nonpayable",
  },
] as const;

/** `DataAvailability` — full ABI (encodes the Application's `dataAvailability` bytes). */
export const dataAvailabilityAbi = [
  {
    type: "function",
    name: "InputBox",
    inputs: [{ name: "inputBox", type: "address", internalType: "contract IInputBox" }],
    outputs: [],
    stateMutability: "nonpayable",
  },
  {
    type: "function",
    name: "InputBoxAndEspresso",
    inputs: [
      { name: "inputBox", type: "address", internalType: "contract IInputBox" },
      { name: "fromBlock", type: "uint256", internalType: "uint256" },
      { name: "namespaceId", type: "uint32", internalType: "uint32" },
    ],
    outputs: [],
    stateMutability: "nonpayable",
  },
] as const;

/** `Application` — the subset the sequencer and its tests read (fragments equal the artifact's). */
export const applicationAbi = [
  {
    type: "function",
    name: "getDataAvailability",
    inputs: [],
    outputs: [{ name: "", type: "bytes", internalType: "bytes" }],
    stateMutability: "view",
  },
  {
    type: "function",
    name: "getDeploymentBlockNumber",
    inputs: [],
    outputs: [{ name: "", type: "uint256", internalType: "uint256" }],
    stateMutability: "view",
  },
  {
    type: "function",
    name: "getOutputsMerkleRootValidator",
    inputs: [],
    outputs: [{ name: "", type: "address", internalType: "contract IOutputsMerkleRootValidator" }],
    stateMutability: "view",
  },
  {
    type: "function",
    name: "getTemplateHash",
    inputs: [],
    outputs: [{ name: "", type: "bytes32", internalType: "bytes32" }],
    stateMutability: "view",
  },
  { type: "receive", stateMutability: "payable" },
] as const;

const ADD_INPUT_SELECTOR = hexToBytes(toFunctionSelector("addInput(address,bytes)"));

/**
 * Calldata of `InputBox.addInput(app, payload)`, encoded by offset: selector, the address
 * word, the offset of `payload` (0x40), its length and its bytes padded to 32. Same bytes as
 * viem's `encodeFunctionData` (add-input.test.ts), without walking a 32 KB batch as hex.
 */
export function encodeAddInput(app: Address, payload: Uint8Array): Hex {
  const padded = Math.ceil(payload.length / 32) * 32;
  const out = new Uint8Array(4 + 32 * 3 + padded);
  out.set(ADD_INPUT_SELECTOR, 0);
  out.set(hexToBytes(app, 20), 4 + 12);
  out[4 + 32 + 31] = 0x40;
  new DataView(out.buffer).setUint32(4 + 64 + 28, payload.length);
  out.set(payload, 4 + 96);
  return bytesToHex(out);
}

/** EvmAdvance's fields as bytes and integers: what the input reader stores. */
export interface EvmAdvanceFields {
  chainId: bigint;
  /** Lowercase. */
  appContract: Address;
  msgSender: Uint8Array;
  blockNumber: bigint;
  blockTimestamp: bigint;
  prevRandao: bigint;
  index: bigint;
  payload: Uint8Array;
}

const EVM_ADVANCE_SELECTOR = hexToBytes(
  toFunctionSelector("EvmAdvance(uint256,address,address,uint256,uint256,uint256,uint256,bytes)"),
);
/** EvmAdvance's static head: 7 words of values plus the payload's offset. */
const HEAD_WORDS = 8;

/**
 * Decodes an `EvmAdvance` call (the `input` of `InputAdded`) by offset: the layout is fixed,
 * and a batch input is ~32 KB that viem's generic decoder would walk as hex several times.
 * Stricter than ABI decoding needs to be: address words must have clean upper bytes.
 * `test/l1/contracts.test.ts` and `input-logs.test.ts` check it against viem's decoder.
 * @throws DecodeError naming what is wrong.
 */
export function decodeEvmAdvanceCall(input: Uint8Array): EvmAdvanceFields {
  if (input.length < 4 || !bytesEqual(input.subarray(0, 4), EVM_ADVANCE_SELECTOR)) {
    throw new DecodeError("InputAdded input is not an EvmAdvance call (selector)");
  }
  const head = input.subarray(4);
  if (head.length < HEAD_WORDS * 32) throw new DecodeError(`EvmAdvance is ${head.length} bytes, shorter than its head`);
  return {
    chainId: abiWord(head, 0),
    appContract: bytesToHex(abiAddress(head, 1)) as Address,
    msgSender: abiAddress(head, 2).slice(),
    blockNumber: abiWord(head, 3),
    blockTimestamp: abiWord(head, 4),
    prevRandao: abiWord(head, 5),
    index: abiWord(head, 6),
    payload: readAbiBytes(head, 7, "EvmAdvance payload").slice(),
  };
}

function abiWord(b: Uint8Array, i: number): bigint {
  return BigInt(bytesToHex(b.subarray(i * 32, i * 32 + 32)));
}

/** A word that must hold a small offset or length. */
function abiSmallWord(b: Uint8Array, at: number, what: string): number {
  if (at + 32 > b.length) throw new DecodeError(`${what}: out of bounds`);
  for (let i = at; i < at + 28; i++) if (b[i] !== 0) throw new DecodeError(`${what}: offset or length too large`);
  return ((b[at + 28]! << 24) >>> 0) + (b[at + 29]! << 16) + (b[at + 30]! << 8) + b[at + 31]!;
}

function abiAddress(b: Uint8Array, i: number): Uint8Array {
  const w = b.subarray(i * 32, i * 32 + 32);
  for (let k = 0; k < 12; k++) if (w[k] !== 0) throw new DecodeError("EvmAdvance address word has dirty upper bytes");
  return w.subarray(12);
}

/** The dynamic `bytes` whose offset is in word `i` of `b` (a view, not a copy). */
export function readAbiBytes(b: Uint8Array, i: number, what: string): Uint8Array {
  const offset = abiSmallWord(b, i * 32, what);
  const len = abiSmallWord(b, offset, what);
  const start = offset + 32;
  if (start + len > b.length) throw new DecodeError(`${what}: ${len} bytes claimed, ${b.length - start} present`);
  return b.subarray(start, start + len);
}

/** The payload `EtherPortal.depositEther` puts in the InputBox: `abi.encodePacked(sender, value, data)`. */
export function etherDepositPayload(sender: Address, value: bigint, execLayerData: Hex = "0x"): Hex {
  return encodePacked(["address", "uint256", "bytes"], [sender, value, execLayerData]);
}

/** Addresses of the preloaded devnet (see `scripts/gen-devnet-state.ts`). */
export interface Deployment {
  chainId: number;
  inputBox: Address;
  inputBoxDeploymentBlock: number;
  etherPortal: Address;
  erc20Portal: Address;
  application: Address;
  applicationDeploymentBlock?: number;
  authority?: Address;
  templateHash?: Hex;
  /** Anvil account 1: the devnet batch submitter. */
  batchSubmitter: Address;
  /** Anvil account 0: deployed everything above. */
  deployer: Address;
}

/** Validates a deployment-shaped object (e.g. read from a file); throws `DecodeError`. */
export function parseDeployment(raw: unknown): Deployment {
  if (typeof raw !== "object" || raw === null) throw new DecodeError("deployment: not an object");
  const o = raw as Record<string, unknown>;
  const addr = (k: string): Address => {
    const v = o[k];
    if (typeof v !== "string" || !isAddress(v, { strict: false })) throw new DecodeError(`deployment.${k}: not an address`);
    return getAddress(v);
  };
  const optAddr = (k: string): Address | undefined => (o[k] === undefined ? undefined : addr(k));
  const uint = (k: string): number => {
    const v = o[k];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new DecodeError(`deployment.${k}: not a uint`);
    return v;
  };
  const d: Deployment = {
    chainId: uint("chainId"),
    inputBox: addr("inputBox"),
    inputBoxDeploymentBlock: uint("inputBoxDeploymentBlock"),
    etherPortal: addr("etherPortal"),
    erc20Portal: addr("erc20Portal"),
    application: addr("application"),
    batchSubmitter: addr("batchSubmitter"),
    deployer: addr("deployer"),
  };
  if (o.applicationDeploymentBlock !== undefined) d.applicationDeploymentBlock = uint("applicationDeploymentBlock");
  const authority = optAddr("authority");
  if (authority) d.authority = authority;
  if (o.templateHash !== undefined) {
    if (typeof o.templateHash !== "string" || !isHex(o.templateHash) || o.templateHash.length !== 66) {
      throw new DecodeError("deployment.templateHash: not a bytes32");
    }
    d.templateHash = o.templateHash;
  }
  return d;
}

/** The deployment inside `devnet/anvil-state.json`. */
export const DEVNET_DEPLOYMENT: Deployment = Object.freeze(parseDeployment(deploymentJson));

/**
 * Anvil's default development private keys for accounts 0..9 (mnemonic
 * "test test test test test test test test test test test junk"). PUBLIC TEST KEYS: anyone
 * can spend from these addresses on any network; never use them outside a local devnet.
 */
export const DEVNET_KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
  "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
] as const satisfies readonly Hex[];

/** Addresses of `DEVNET_KEYS` (checksummed), same order. */
export const DEVNET_ADDRESSES = [
  "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
  "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
  "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
  "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
  "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
  "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
  "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
  "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
  "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
] as const satisfies readonly Address[];

/** Index of the batch submitter among `DEVNET_KEYS`. */
export const DEVNET_BATCH_SUBMITTER_INDEX = 1;
