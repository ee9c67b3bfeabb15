# CyberHub realtime: build the `cyberhub` binary, run it on a slim Debian with a data volume.
FROM rust:1.95-bookworm AS build
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
COPY --from=build /usr/local/bin/cyberhub /usr/local/bin/cyberhub
USER cyberhub
WORKDIR /data
ENV CYBERHUB_LISTEN=0.0.0.0:3000 \
    DATABASE_URL=sqlite:///data/cyberhub.db \
    RUST_LOG=info
VOLUME /data
EXPOSE 3000
# SIGTERM ends streams with a jittered retry hint; give them the grace period to drain.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s \
  CMD curl -fsS http://127.0.0.1:3000/health || exit 1
ENTRYPOINT ["cyberhub"]
CMD ["serve"]
