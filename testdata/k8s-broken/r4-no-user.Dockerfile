# Broken on purpose (rung 4 fixture): no USER line
# expect: the final stage has no USER
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
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      gcc make libc6-dev pkg-config zlib1g-dev libcurl4-openssl-dev \
      librabbitmq-dev libpq-dev libjpeg62-turbo-dev libpng-dev \
      libmicrohttpd-dev libjansson-dev libopenblas-dev darknet \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY src/ src/
COPY cli/ cli/
# `programs` builds only the binaries: no package install, no model fetch.
RUN make -j2 programs \
 && make install-programs PREFIX=/usr/local DESTDIR=/out
# Converted models come from the build context (`make image` converts them
# first); the directory may be empty on a machine without models.
COPY .cache/models/ /out/usr/local/share/anon/models/

# ------------------------------------------------------------------ runtime
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libcurl4 librabbitmq4 libpq5 libjpeg62-turbo libpng16-16 \
      libmicrohttpd12 libjansson4 libopenblas0 zlib1g darknet \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && groupadd --system --gid 10001 anon \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent \
      --no-create-home --shell /usr/sbin/nologin anon
COPY --from=build /out/usr/local/ /usr/local/
ENV ANON_MODEL_DIR=/usr/local/share/anon/models \
    TMPDIR=/tmp
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/anonctl"]
CMD ["--help"]
