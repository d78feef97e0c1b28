# fleetmcp container image: build on Debian 12, run on Debian 12 slim.
#   docker build -t fleetmcp .
#   docker run --rm -p 127.0.0.1:8892:8892 --env-file /etc/fleetmcp/fleetmcp.env fleetmcp
# Settings are environment variables (fleetmcp --help lists them; see
# deploy/fleetmcp.env.example). The server listens on 0.0.0.0:8892 inside the
# container; publish the port on a loopback or private address only.
# Both stages' bases are build arguments, for a Debian 12 image of your own
# (a mirror, or one built with mmdebstrap where no registry is reachable:
# docs/OPERATIONS.md, "The container image without a registry"):
#   docker build --build-arg BUILD_BASE=localhost/debian:12 --build-arg RUNTIME_BASE=localhost/debian:12 -t fleetmcp .

ARG BUILD_BASE=debian:12
ARG RUNTIME_BASE=debian:12-slim

FROM ${BUILD_BASE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libboost1.74-dev libpq-dev nlohmann-json3-dev libsimdjson-dev libssl-dev libdeflate-dev nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# PostgreSQL 16's parser (static, linked into the binary), pinned by its lockfile:
# fetched from the npm registry, whose certificate is checked against the system's
# CAs (ca-certificates adds any in /usr/local/share/ca-certificates, such as a
# TLS-inspecting proxy's, mounted there for the build: docs/OPERATIONS.md).
RUN cd third_party/libpg_query && npm ci --ignore-scripts --no-audit --no-fund
# Only the server: the tests and benchmarks need GoogleTest, Google Benchmark and
# a PostgreSQL server, which the image does not.
RUN cmake --preset release -DFLEETMCP_TESTS=OFF -DFLEETMCP_BENCH=OFF \
 && cmake --build --preset release --target fleetmcp \
 && strip --strip-debug build/release/fleetmcp \
 && build/release/fleetmcp version

FROM ${RUNTIME_BASE}
# Exactly the shared libraries the binary links (ldd): libpq, simdjson, OpenSSL, libdeflate, the C++ runtime. Boost (Asio, Beast) is header-only.
# curl is for the health check; ca-certificates for sslrootcert= in DATABASE_URL.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libpq5 libsimdjson14 libssl3 libdeflate0 libstdc++6 libgcc-s1 \
      ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 fleetmcp \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin fleetmcp
COPY --from=build /src/build/release/fleetmcp /usr/local/bin/fleetmcp
USER 10001:10001
ENV MCP_HOST=0.0.0.0 MCP_PORT=8892
EXPOSE 8892
# /healthz answers {"ok":true} without a token or a database round trip.
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${MCP_PORT}/healthz" || exit 1
ENTRYPOINT ["fleetmcp"]
CMD ["serve"]
