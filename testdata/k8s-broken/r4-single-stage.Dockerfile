# Broken on purpose (rung 4 fixture): one stage with the compilers in it
# expect: not a multi-stage build
# anon container image: one image, both programs (anonctl, anon-intake).
#
# Built by `make image` (buildah or podman; the base image is made locally by
# scripts/image-base because no registry is reachable from the build hosts).
# Stage 1 compiles with the -dev packages; stage 2 is debian:bookworm-slim
# with only the runtime libraries, the two binaries and the converted face
# models. The Kubernetes manifests set `command` explicitly (anonctl or
# anon-intake); the entrypoint here is for `podman run IMAGE blur ...`.

# ------------------------------------------------------------------ build
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
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/anonctl"]
CMD ["--help"]
