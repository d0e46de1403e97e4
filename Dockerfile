# syntax=docker/dockerfile:1
#
# The sequencer as a container: one static-ish binary (`bun build --compile`) on a slim glibc
# base. Build:  docker build -t cartesi-app-sequencer .
# Run:          docker run -p 3000:3000 -p 3002:3002 -v seqdata:/data \
#                 -e SEQ_ETH_RPC_URL=... -e SEQ_CHAIN_ID=... -e SEQ_APP_ADDRESS=... \
#                 -e SEQ_BATCH_SUBMITTER_PRIVATE_KEY_FILE=/run/secrets/submitter_key \
#                 cartesi-app-sequencer
# Prefer *_PRIVATE_KEY_FILE with a mounted secret over passing the key in the environment.
#
# linux/amd64 only for the native secp256k1 addon (the only prebuilt one that is embedded);
# on arm64 the binary still runs, with the slower pure-JS signature backend.
# `devnet` is not usable in this image (anvil is not shipped); use `npm start` for that.

# ---- stage 1: build ------------------------------------------------------------------------
FROM node:20-bookworm AS build
WORKDIR /src
# Dependencies first, so the layer is cached while only sources change. `bun` itself comes
# from npm (a devDependency-style dependency), nothing else is installed.
COPY package.json package-lock.json ./
# `npm ci`: exactly the committed lockfile (which holds every platform's optional packages,
# so it agrees with package.json on any machine).
RUN npm ci --no-audit --no-fund
COPY . .
# Builds app-wasm/build/wallet.wasm if missing, then dist/sequencer, and smoke-checks it.
RUN npm run build

# ---- stage 2: runtime ----------------------------------------------------------------------
FROM debian:bookworm-slim
# glibc + libstdc++ for the embedded native secp256k1 addon; CA roots for https RPC URLs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libstdc++6 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 sequencer \
 && useradd --system --uid 10001 --gid sequencer --home-dir /data --shell /usr/sbin/nologin sequencer \
 && mkdir -p /data \
 && chown sequencer:sequencer /data
COPY --from=build /src/dist/sequencer /usr/local/bin/sequencer

# SQLite database, WAL and snapshots. Keep it on a volume: it IS the soft-confirmation state.
VOLUME ["/data"]
ENV SEQ_DATA_DIR=/data \
    SEQ_HTTP_ADDR=0.0.0.0:3000 \
    SEQ_INSPECT_HTTP_ADDR=0.0.0.0:3002
# The internal listener (operator routes: /finalized_state, /latest_snapshot, /metrics) has no
# auth and must stay network-gated. It keeps its default 127.0.0.1:3001 here, i.e. reachable
# only inside the container. If you set SEQ_INTERNAL_HTTP_ADDR=0.0.0.0:3001 to scrape metrics,
# publish that port only on a private network, never next to 3000.
# 3002 serves only the inspect routes, from the follower's own thread (docs/operations.md):
# route a proxy's /inspect there so that queries cost the lane nothing.
EXPOSE 3000 3002

# Bun extracts the embedded native addon to /tmp at startup: keep /tmp writable (mount a
# tmpfs there if you run with a read-only root filesystem).
USER sequencer:sequencer
WORKDIR /data
# SIGTERM (docker stop) is a clean shutdown, exit 0; allow it time to drain (--stop-timeout).
ENTRYPOINT ["/usr/local/bin/sequencer"]
CMD ["run"]
