# CyberHub realtime: the `cyberhub` binary and the club's live page on a slim, non-root image.

# The live page (web/) on the TypeScript SDK (sdk-ts/), built to web/dist.
FROM node:20-bookworm-slim AS web
WORKDIR /src
COPY sdk-ts/package.json sdk-ts/package-lock.json sdk-ts/
COPY web/package.json web/package-lock.json web/
RUN cd sdk-ts && npm ci --no-audit --no-fund && cd ../web && npm ci --no-audit --no-fund
COPY sdk-ts sdk-ts
COPY web web
RUN cd sdk-ts && npm run build && cd ../web && npm run build

# The server.
FROM rust:1.95-bookworm AS server
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p cyberhub-server \
 && cp target/release/cyberhub /usr/local/bin/cyberhub

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /data --uid 10001 cyberhub \
 && mkdir -p /data && chown cyberhub /data
COPY --from=server /usr/local/bin/cyberhub /usr/local/bin/cyberhub
COPY --from=web /src/web/dist /app/web
USER cyberhub
WORKDIR /data
ENV CYBERHUB_LISTEN=0.0.0.0:3000 \
    DATABASE_URL=sqlite:///data/cyberhub.db \
    CYBERHUB_WEB_DIR=/app/web \
    RUST_LOG=info
VOLUME /data
EXPOSE 3000
# SIGTERM ends streams with a jittered retry hint; give them the grace period to drain.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s \
  CMD curl -fsS http://127.0.0.1:3000/health || exit 1
ENTRYPOINT ["cyberhub"]
CMD ["serve"]
