# anon - build, test, benchmark, demo and deploy.
#
#   make          build anonctl and anon-intake (installs missing packages first)
#   make test     the whole test suite under ASan/UBSan; ends with "N passed, N failed"
#   make demo     the main job on the demo photos
#   make bench    benchmarks, each beside its anchor in the same run
#   make chaos    the chaos campaign: nothing lost or duplicated under faults
#   make eval     detection settings scored on a generated labelled set
#
# Models and third-party photos are fetched into .cache/ (git-ignored).

PREFIX  ?= /usr/local
DESTDIR ?=

BUILD := build
ASAN  := build/asan
CACHE := .cache

DARKNET_DIR := /usr/lib/darknet
# Libraries come through pkg-config (their headers as system headers, so
# -Werror judges only the project's code); libdarknet ships no .pc file.
PKGS := libcurl libpq libpng zlib libmicrohttpd jansson nettle libxml-2.0 \
	librabbitmq libjpeg openblas
# Asked once, when first used: on a fresh machine `deps` installs
# pkg-config and the -dev packages before anything is compiled.
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(patsubst -I%,-isystem %,$$(filter-out \
	-I/usr/include/$$(shell $$(CC) -print-multiarch),$$(shell pkg-config --cflags $$(PKGS)))))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $$(shell pkg-config --libs $$(PKGS)))$(PKG_LIBS)
CPPFLAGS = -Isrc -isystem $(DARKNET_DIR)/include $(PKG_CFLAGS) -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror
CFLAGS   := -std=c17 -O2 -g $(WARN)
ASAN_CFLAGS := -std=c17 -O1 -g -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined $(WARN)
# libdarknet is dlopen()ed by src/engine/engine_darknet.c when the darknet engine
# is used; only the tests that call it directly link it (DARKNET_LIBS).
DARKNET_LIBS := -L$(DARKNET_DIR) -Wl,-rpath,$(DARKNET_DIR) -ldarknet
LDLIBS = -ldl $(PKG_LIBS) -lpthread -lm

# src/ is a set of packages, one folder each, layered: a package uses only
# those before it in SRC_PACKAGES (tests/test_layers.sh checks it).
SRC_PACKAGES := base image codec engine detect redact service intake
LIB_SRC    := $(foreach p,$(SRC_PACKAGES),$(wildcard src/$(p)/*.c))
CLI_COMMON := $(wildcard cli/cli_*.c)
CTL_SRC    := cli/anonctl.c $(wildcard cli/cmd_*.c) $(CLI_COMMON)
INTAKE_SRC := $(wildcard cli/anon_intake.c)
TEST_SRC   := $(wildcard tests/test_*.c tests/svc_*.c)

LIB_OBJ      := $(LIB_SRC:%.c=$(BUILD)/%.o)
ASAN_LIB_OBJ := $(LIB_SRC:%.c=$(ASAN)/%.o)
CTL_OBJ      := $(CTL_SRC:%.c=$(BUILD)/%.o)
ASAN_CTL_OBJ := $(CTL_SRC:%.c=$(ASAN)/%.o)
CLI_COMMON_OBJ      := $(CLI_COMMON:%.c=$(BUILD)/%.o)
ASAN_CLI_COMMON_OBJ := $(CLI_COMMON:%.c=$(ASAN)/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(ASAN)/tests/%)

# SQL migrations (src/service/migrations/NNN_name.sql) are embedded into the library
# as a generated C file, so that the binaries need no files beside them.
MIGRATIONS   := $(sort $(wildcard src/service/migrations/*.sql))
LIB_OBJ      += $(BUILD)/gen/migrations.o
ASAN_LIB_OBJ += $(ASAN)/gen/migrations.o

PROGRAMS      := $(BUILD)/anonctl $(if $(INTAKE_SRC),$(BUILD)/anon-intake)
ASAN_PROGRAMS := $(ASAN)/anonctl $(if $(INTAKE_SRC),$(ASAN)/anon-intake)

.PHONY: all deps models oracle test test-build check check-build tools bench bench-engine bench-pipeline eval demo install clean
all: deps models $(PROGRAMS)

# ---------------------------------------------------------------- packages
# Debian packages the build, the tests and the local stack need. `deps`
# installs only what is missing, so it is cheap to run every time.
APT_PACKAGES := gcc make pkg-config libc6-dev zlib1g-dev \
	libcurl4-openssl-dev librabbitmq-dev libpq-dev libjpeg62-turbo-dev \
	libpng-dev libmicrohttpd-dev libjansson-dev libopenblas-dev darknet \
	postgresql-15 rabbitmq-server python3 python3-numpy python3-opencv \
	python3-botocore valgrind curl ca-certificates nettle-dev libxml2-dev \
	python3-onnx

deps:
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing; \
	fi; \
	command -v npm >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm; }

# ---------------------------------------------------------------- models
# The face models come from the npm registry, pinned, and are converted to
# Darknet .cfg + .weights by scripts/convert-model.
FACE_API_VERSION := 1.7.15
FACE_API := $(CACHE)/face-api/package
MODELS   := $(CACHE)/models

$(FACE_API)/package.json:
	mkdir -p $(CACHE)/face-api
	cd $(CACHE)/face-api && npm pack --silent @vladmandic/face-api@$(FACE_API_VERSION) >/dev/null \
		&& tar xzf vladmandic-face-api-$(FACE_API_VERSION).tgz
	touch $@

# YOLOv8n-face (the default model): an ONNX file inside a Node-RED package,
# pinned by version and by the file's sha256 (checked after every fetch).
YOLO_PACKAGE := @good-i-deer/node-red-contrib-face-detection
YOLO_VERSION := 1.0.1
YOLO_SHA256  := 52d50f2c689f935251b6e492f1934bfc9086d2853c2628667cbdb28ef8a76178
YOLO_DIR     := $(CACHE)/yolo
YOLO_ONNX    := $(YOLO_DIR)/package/model/yolov8n-face.onnx
# The graph cut after its three heads, any input size: what yolo.cfg
# computes, for ONNX Runtime (the oracle) and scripts/yolo-explore.
YOLO_HEADS   := $(YOLO_DIR)/yolov8n-face-heads.onnx

$(YOLO_ONNX):
	mkdir -p $(YOLO_DIR)
	cd $(YOLO_DIR) && npm pack --silent $(YOLO_PACKAGE)@$(YOLO_VERSION) >/dev/null \
		&& tar xzf good-i-deer-node-red-contrib-face-detection-$(YOLO_VERSION).tgz
	@echo "$(YOLO_SHA256)  $@" | sha256sum --check --status 2>/dev/null || { \
		echo "$@: sha256 $$(sha256sum <$@ | cut -c1-64) is not the pinned $(YOLO_SHA256):" \
			"$(YOLO_PACKAGE)@$(YOLO_VERSION) changed; not using it" >&2; \
		rm -f $@; exit 1; }
	touch $@

$(YOLO_HEADS): $(YOLO_ONNX) scripts/convert-model
	/usr/bin/python3 scripts/convert-model yolo-heads $(YOLO_ONNX) $@

models: $(FACE_API)/package.json $(MODELS)/ssd.cfg $(MODELS)/tiny.cfg $(MODELS)/yolo.cfg

$(MODELS)/ssd.cfg: $(FACE_API)/package.json scripts/convert-model
	/usr/bin/python3 scripts/convert-model ssd $(FACE_API)/model $(MODELS)

$(MODELS)/tiny.cfg: $(FACE_API)/package.json scripts/convert-model
	/usr/bin/python3 scripts/convert-model tiny $(FACE_API)/model $(MODELS)

$(MODELS)/yolo.cfg: $(YOLO_ONNX) scripts/convert-model
	/usr/bin/python3 scripts/convert-model yolo $(YOLO_ONNX) $(MODELS)

# Reference detections by face-api itself (Node, tfjs CPU backend) for the
# parity tests: computed once per machine, ~20 s per photo. The photos are
# decoded once by cv2 into PPMs that both face-api and the C tests read.
ORACLE := $(CACHE)/oracle
DEMO_PHOTOS := sample1 sample2 sample3 sample4 sample5 sample6
ORACLE_JSON := $(DEMO_PHOTOS:%=$(ORACLE)/%.json)
ORACLE_PPM  := $(DEMO_PHOTOS:%=$(ORACLE)/%.ppm)

$(ORACLE)/%.ppm: $(FACE_API)/package.json
	@mkdir -p $(ORACLE)
	/usr/bin/python3 -c 'import cv2, sys; cv2.imwrite(sys.argv[2], cv2.imread(sys.argv[1]))' \
		$(FACE_API)/demo/$*.jpg $@

$(ORACLE)/%.json: $(ORACLE)/%.ppm scripts/face-api-oracle.mjs scripts/ppm.mjs
	node --no-warnings scripts/face-api-oracle.mjs $(FACE_API) $< $@ >/dev/null

.PRECIOUS: $(ORACLE)/%.ppm

# YOLOv8n-face's raw head outputs from ONNX Runtime (npm onnxruntime-node,
# pinned in scripts/onnxruntime/, installed into the cache) and the boxes of
# the reference decoder, for the six demo photos at two input sizes; format
# in scripts/yolo-oracle.mjs. Once per machine, ~1 s per photo and size.
ORT_NODE := $(CACHE)/onnxruntime
YOLO_ORACLE := $(ORACLE)/yolo
YOLO_ORACLE_SIZES := 640 1024
YOLO_ORACLE_JSON := $(foreach s,$(YOLO_ORACLE_SIZES),$(DEMO_PHOTOS:%=$(YOLO_ORACLE)/%-$(s).json))

$(ORT_NODE)/node_modules/.installed: scripts/onnxruntime/package.json scripts/onnxruntime/package-lock.json
	mkdir -p $(ORT_NODE)
	cp $^ $(ORT_NODE)/
	cd $(ORT_NODE) && npm ci --silent --no-audit --no-fund --ignore-scripts
	touch $@

$(YOLO_ORACLE)/%.ppm: $(FACE_API)/package.json scripts/yolo-reference
	@mkdir -p $(YOLO_ORACLE)
	/usr/bin/python3 scripts/yolo-reference input $(FACE_API)/demo/$(firstword $(subst -, ,$*)).jpg \
		$(lastword $(subst -, ,$*)) $@

$(YOLO_ORACLE)/%.json: $(YOLO_ORACLE)/%.ppm $(YOLO_HEADS) $(ORT_NODE)/node_modules/.installed \
		scripts/yolo-oracle.mjs scripts/ppm.mjs scripts/yolo-reference
	node --no-warnings scripts/yolo-oracle.mjs $(ORT_NODE) $(YOLO_HEADS) $(YOLO_ORACLE)/$*
	/usr/bin/python3 scripts/yolo-reference decode $(YOLO_ORACLE)/$*
.PRECIOUS: $(YOLO_ORACLE)/%.ppm
oracle: $(ORACLE_JSON) $(YOLO_ORACLE_JSON)
test-build: oracle

# ---------------------------------------------------------------- build
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

# Flags per package. The engine's kernels need the loop vectorizer at full
# strength and fused multiply-adds (ISO C mode turns contraction off); the
# codecs, the canvas resampler and the blur are pixel loops (-O3 alone
# changes no floating-point result).
$(BUILD)/src/engine/%.o: CFLAGS += -O3 -ffp-contract=fast
# Under the sanitizers too: at -O1 the blocked convolution kernel runs
# about 7x slower under ASan than at -O3 (still instrumented), and it is
# most of every sanitized test's time.
$(ASAN)/src/engine/%.o: ASAN_CFLAGS += -O3 -ffp-contract=fast
$(BUILD)/src/codec/%.o $(BUILD)/src/detect/%.o $(BUILD)/src/redact/%.o: CFLAGS += -O3

$(ASAN)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ASAN_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/gen/migrations.c: $(MIGRATIONS) scripts/embed-migrations
	@mkdir -p $(dir $@)
	scripts/embed-migrations $(MIGRATIONS) >$@.tmp && mv $@.tmp $@

$(BUILD)/gen/migrations.o: $(BUILD)/gen/migrations.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(ASAN)/gen/migrations.o: $(BUILD)/gen/migrations.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ASAN_CFLAGS) -c $< -o $@

# Made afresh: `ar r` into an existing archive would keep the members of
# sources that were removed or renamed.
$(BUILD)/libanon.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(ASAN)/libanon.a: $(ASAN_LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/anonctl: $(CTL_OBJ) $(BUILD)/libanon.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(ASAN)/anonctl: $(ASAN_CTL_OBJ) $(ASAN)/libanon.a
	$(CC) $(ASAN_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/anon-intake: $(BUILD)/cli/anon_intake.o $(CLI_COMMON_OBJ) $(BUILD)/libanon.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(ASAN)/anon-intake: $(ASAN)/cli/anon_intake.o $(ASAN_CLI_COMMON_OBJ) $(ASAN)/libanon.a
	$(CC) $(ASAN_CFLAGS) -o $@ $^ $(LDLIBS)

$(ASAN)/tests/%: $(ASAN)/tests/%.o $(ASAN)/libanon.a
	$(CC) $(ASAN_CFLAGS) -o $@ $^ $(DARKNET_LIBS) $(LDLIBS)

$(ASAN)/tests/%.o: CPPFLAGS += -Itests
# The test objects are made through the pattern chain above; kept, so that
# make neither rebuilds them nor prints their removal after the suite's
# closing line.
.SECONDARY: $(TEST_SRC:tests/%.c=$(ASAN)/tests/%.o)

# ---------------------------------------------------------------- tools
# Every other C program of the project is built here too: the bench
# drivers (bench/NAME.c -> build/NAME, release flags: they measure) and the
# test-side tools (tests/tools/NAME.c -> build/asan/tools/NAME, under the
# sanitizers like the tests that run them).
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/%,$(wildcard bench/*.c))
TOOL_BIN  := $(patsubst tests/tools/%.c,$(ASAN)/tools/%,$(wildcard tests/tools/*.c))

$(BENCH_BIN): $(BUILD)/%: $(BUILD)/bench/%.o $(BUILD)/libanon.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(TOOL_BIN): $(ASAN)/tools/%: $(ASAN)/tests/tools/%.o $(ASAN)/libanon.a
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -o $@ $^ $(LDLIBS)
.SECONDARY: $(patsubst %.c,$(ASAN)/%.o,$(wildcard tests/tools/*.c))

tools: $(BENCH_BIN) $(TOOL_BIN)

# ---------------------------------------------------------------- test
test-build: deps models $(PROGRAMS) $(ASAN_PROGRAMS) $(TEST_BIN) $(TOOL_BIN)

# The build runs on every core once `deps` has installed what it needs.
NPROC := $(shell nproc 2>/dev/null || echo 1)
test:
	$(MAKE) deps
	$(MAKE) -j$(NPROC) test-build
	scripts/run-tests

# The edit-compile-test loop: the unit tests that need no service, no
# network and no face-api oracle (scripts/run-tests --check says which),
# from the build and the converted models alone; a few minutes on 2 cores.
check-build: models $(ORACLE_PPM) $(PROGRAMS) $(ASAN_PROGRAMS) $(TEST_BIN) $(TOOL_BIN)

check:
	$(MAKE) -j$(NPROC) check-build
	scripts/run-tests --check


# ---------------------------------------------------------------- fuzz
# libFuzzer harnesses (tests/fuzz/fuzz_NAME.c, each defining
# LLVMFuzzerTestOneInput; seeds from scripts/fuzz-seeds NAME) built with
# Debian's clang against the library compiled once more for them: coverage
# instrumentation, ASan and UBSan. `make fuzz` runs each for FUZZ_SECONDS,
# one after the other, keeping its corpus in .cache/fuzz/NAME, then the
# converter's mutation fuzzer (scripts/fuzz-convert); `make test` runs each
# over its seeds for a short while (tests/test_fuzz.sh,
# tests/test_fuzz_convert.sh).
FUZZ         := build/fuzz
FUZZ_CC      := clang
FUZZ_CFLAGS  := -std=c17 -O1 -g -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined $(WARN)
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ)/%)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ)/%.o) $(FUZZ)/gen/migrations.o
FUZZ_SECONDS ?= 600
APT_PACKAGES += clang libclang-rt-14-dev
.PHONY: fuzz fuzz-build

$(FUZZ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ)/gen/migrations.o: $(BUILD)/gen/migrations.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ)/libanon.a: $(FUZZ_LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(FUZZ)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ)/libanon.a
	$(FUZZ_CC) $(CPPFLAGS) -Itests/fuzz $(FUZZ_CFLAGS) -fsanitize=fuzzer -MMD -MP \
		-o $@ $< $(FUZZ)/libanon.a $(LDLIBS)

fuzz-build: $(FUZZ_BIN)

# FUZZ_NAMES: only these harnesses (e.g. `make fuzz FUZZ_NAMES="nn_cfg convert"`);
# `convert` is scripts/fuzz-convert, which checks what it converted with
# build/asan/tools/nn_check.
FUZZ_NAMES ?=
fuzz: deps $(FUZZ_BIN) $(ASAN)/tools/nn_check $(ASAN)/tools/make_bad_inputs
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz -c $(CACHE)/fuzz $(FUZZ_NAMES)

test-build: fuzz-build

# ---------------------------------------------------------------- bench
# scripts/bench runs anonctl blur beside the Python + OpenCV seed pipeline,
# then every scripts/bench-* (engines, JPEG output, intake, end to end).
bench: all $(BENCH_BIN)
	scripts/bench

bench-pipeline: all
	scripts/bench-pipeline
# the bench's labelled set is made from the oracle's boxes on the demo photos
bench: oracle

# The chaos campaign (scripts/chaos): CHAOS_PHOTOS photos through the whole
# batch system on a private 3-node stack while workers, the intake and a
# RabbitMQ node are killed, PostgreSQL restarts, S3 goes away and a
# worker's network is cut; fails on any lost or duplicated image.
# Its bad inputs come from the bad-input generator (a test-side tool).
CHAOS_PHOTOS ?= 1000
.PHONY: chaos
chaos: all oracle $(ASAN)/tools/make_bad_inputs
	nice scripts/chaos --photos $(CHAOS_PHOTOS)

# The inference engines side by side with OpenCV DNN (scripts/bench-engine).
bench-engine: deps models $(BUILD)/bench_engine
	scripts/bench-engine

# Covered recall, false boxes and cost of detector settings on the generated
# labelled set (docs/detection.md; takes a while: one core, niced).
# (build/eval_detect: the detector alone with every option.)
eval: all oracle $(BUILD)/eval_detect
	scripts/eval-detection --markdown

# YOLOv8n-face settings run by ONNX Runtime on a labelled set of real photos
# (docs/detection.md; WIDER=DIR, default ../shared/wider-dev: evaluation
# only, no test needs it). Resumable; about 40 min of one core for 500 photos.
WIDER ?= ../shared/wider-dev
.PHONY: eval-yolo
eval-yolo: models $(YOLO_HEADS) $(ORT_NODE)/node_modules/.installed
	scripts/yolo-explore run --set $(WIDER)
	scripts/yolo-explore table --set $(WIDER) --markdown

# ---------------------------------------------------------------- demo
demo: all
	scripts/demo

# ---------------------------------------------------------------- install
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/anon/models
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(wildcard $(MODELS)/*.cfg $(MODELS)/*.weights) \
		$(DESTDIR)$(PREFIX)/share/anon/models/

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------- bench-intake
# anon-intake against the local stack, beside plain S3 PUTs (scripts/bench-intake).
# jq reads JSON responses in the intake tests; GNU time measures peak RSS in make bench.
APT_PACKAGES += jq time
.PHONY: bench-intake
bench-intake: all $(BUILD)/intake_load
	scripts/bench-intake

# ---------------------------------------------------------------- kubernetes
# Container image, manifests and their offline checks (issue 6, see
# docs/operations.md). The image is built with podman (or buildah) from the
# Dockerfile; the base image is made locally by scripts/image-base.
.PHONY: programs install-programs image image-deps k8s-validate-deps deploy undeploy
VERSION   := $(shell sed -n 's/^\#define ANON_VERSION "\(.*\)"/\1/p' cli/anonctl.c)
IMAGE     ?= localhost/anon:$(VERSION)
OVERLAY   ?= dev
IMAGE_APT_PACKAGES := podman buildah debootstrap runc uidmap slirp4netns \
	containernetworking-plugins fuse-overlayfs
export CONTAINERS_CONF ?= $(CURDIR)/scripts/podman/containers.conf

# The binaries alone (no package install, no model fetch): the image's
# build stage uses these.
programs: $(PROGRAMS)

install-programs: programs
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/anon/models
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/

image-deps:
	@$(MAKE) -s deps APT_PACKAGES="$(IMAGE_APT_PACKAGES)"

image: image-deps models
	mkdir -p $(MODELS)
	scripts/image-base
	podman build --pull=never --layers -t $(IMAGE) -f Dockerfile .
	podman image ls $(IMAGE)

# Pinned npm packages for the manifest checks (tests/k8s/package.json),
# installed into a git-ignored directory.
K8S_NODE := $(CACHE)/k8s-validate
# The link lives in the checkout and the packages in the cache, so each is
# made when missing: a fresh checkout beside a warm cache needs only the link.
k8s-validate-deps: $(K8S_NODE)/node_modules/.installed
	@[ -L tests/k8s/node_modules ] || ln -sfn ../../$(K8S_NODE)/node_modules tests/k8s/node_modules
$(K8S_NODE)/node_modules/.installed: tests/k8s/package.json tests/k8s/package-lock.json
	mkdir -p $(K8S_NODE)
	cp tests/k8s/package.json tests/k8s/package-lock.json $(K8S_NODE)/
	cd $(K8S_NODE) && npm ci --silent --no-audit --no-fund --ignore-scripts
	touch $@

# Deploy to the cluster of the current kubectl context: data services and
# the migration Job first, then (once the schema is migrated) everything,
# including the intake Deployment. OVERLAY=dev|prod|keda.
deploy:
	scripts/k8s-deploy apply manifests/overlays/$(OVERLAY)

undeploy:
	scripts/k8s-deploy delete manifests/overlays/$(OVERLAY)
test-build: k8s-validate-deps

# The Debian packages above, for the image's build stage.
print-apt-packages:
	@echo $(APT_PACKAGES)
