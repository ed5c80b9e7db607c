# anon container image: one image, both programs (anonctl, anon-intake).
#
# Built by `make image` (buildah or podman; the base image is made locally by
# scripts/image-base because no registry is reachable from the build hosts).
# Stage 1 compiles with the -dev packages; stage 2 is debian:bookworm-slim
# with only the runtime libraries, the two binaries and the converted face
# models. The Kubernetes manifests set `command` explicitly (anonctl or
# anon-intake); the entrypoint here is for `podman run IMAGE blur ...`.

# ------------------------------------------------------------------ build
FROM debian:bookworm-slim AS build
WORKDIR /src
COPY Makefile ./
# The build packages are the Makefile's own list (APT_PACKAGES), less what
# only the tests and the local stack need: its -dev packages, the compiler
# and darknet (headers and library). One list to keep up to date.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends make \
 && make -s print-apt-packages | tr ' ' '\n' \
      | grep -E -- '-dev$|^(gcc|make|pkg-config|darknet)$' >/tmp/build-packages \
 && DEBIAN_FRONTEND=noninteractive xargs -a /tmp/build-packages \
      apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/*
COPY src/ src/
COPY cli/ cli/
COPY scripts/ scripts/
# `programs` builds only the binaries: no package install, no model fetch.
RUN make -j2 programs \
 && make install-programs PREFIX=/usr/local DESTDIR=/out
# The runtime packages are the ones that own the shared libraries the
# binaries load (ldd, then dpkg -S), so the runtime stage gets exactly those.
RUN for b in /out/usr/local/bin/*; do ldd "$b"; done \
      | awk '$2 == "=>" && $3 ~ /^\// { n = split($3, p, "/"); print "*/" p[n] }' | sort -u \
      | xargs -r dpkg -S 2>/dev/null | cut -d: -f1 | grep -v -- '-dev$' | sort -u \
      >/out/runtime-packages \
 && cat /out/runtime-packages
# Converted models come from the build context (`make image` converts them
# first); the directory may be empty on a machine without models.
COPY .cache/models/ /out/usr/local/share/anon/models/

# ------------------------------------------------------------------ runtime
FROM debian:bookworm-slim
COPY --from=build /out/runtime-packages /tmp/runtime-packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive xargs -a /tmp/runtime-packages \
      apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /tmp/runtime-packages \
 && groupadd --system --gid 10001 anon \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent \
      --no-create-home --shell /usr/sbin/nologin anon
COPY --from=build /out/usr/local/ /usr/local/
ENV ANON_MODEL_DIR=/usr/local/share/anon/models \
    TMPDIR=/tmp
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/anonctl"]
CMD ["--help"]
