# hotline: build the nginx module against Debian's nginx-dev, run the demo,
# run the tests and the benchmarks.  `make help` lists the targets.

SHELL      := /bin/bash
NGX_SRC    ?= /usr/share/nginx/src
NGINX      ?= /usr/sbin/nginx
BUILD      := $(CURDIR)/build
OBJS       := $(BUILD)/objs
NGXTREE    := $(BUILD)/nginx-src
MODULE     := $(OBJS)/ngx_http_hotline_module.so
RUNDIR     := $(CURDIR)/run
JOBS       ?= 2

SRCS       := $(wildcard $(CURDIR)/src/*.c $(CURDIR)/src/*.h) $(CURDIR)/config

.PHONY: all module deps run stop test fuzz bench clean help \
        recorder test-recorder bench-recorder fuzz-recorder test-redis \
        test-tls deb compat screenshots test-asan soak bench-queue \
        bench-hundredk bench-handoff deps-bench

all: module

help:
	@echo "make          build build/objs/ngx_http_hotline_module.so"
	@echo "make run      install what is missing, build, start the demo on :8080"
	@echo "make stop     stop the demo"
	@echo "make test     install what is missing, build, run the test suite"
	@echo "make test-redis  the signaling suite on a Redis store"
	@echo "make test-tls    the signaling, auth and limit tests over TLS"
	@echo "make test-asan   signaling, fault and bad-input tests with the"
	@echo "              module and recorder built with ASan and UBSan"
	@echo "make bench    run the benchmarks (docs/performance.md)"
	@echo "make bench-queue  accepts among 5,000 and 50,000 waiting"
	@echo "              customers (about 10 minutes)"
	@echo "make bench-handoff  a restart with 5,000 and 50,000 customers"
	@echo "              waiting: the handoff file's read"
	@echo "make bench-hundredk  100,000 joined customers on one node (8"
	@echo "              workers, reuseport): memory, admission, /metrics"
	@echo "make soak     30 minutes of churn, memory, zone and descriptors"
	@echo "              (SOAK_SECONDS=60 for a quick look)"
	@echo "make fuzz     run the fuzz targets for longer (FUZZ_SECONDS=60)"
	@echo "make recorder build hotline-recorder (test-, bench-, fuzz-recorder)"
	@echo "make deb      Debian packages in build/deb (deploy/debian)"
	@echo "make compat NGX_SRC=/path/to/nginx  build that nginx with the"
	@echo "              module, run the signaling smoke tests with it"
	@echo "make screenshots  every state of the pages, in t/e2e/screenshots/"

deps:
	@bash .ci/deps.sh

deps-bench:
	@bash .ci/deps.sh build test bench

module: $(MODULE)

# nginx's configure writes a Makefile into the directory it runs in, so it
# runs in a symlinked copy of the nginx-dev tree inside build/.
$(OBJS)/Makefile: config
	@rm -rf $(NGXTREE) && mkdir -p $(BUILD) && cp -rs $(NGX_SRC) $(NGXTREE)
	@cd $(NGXTREE) && . ./conf_flags && ./configure "$${NGX_CONF_FLAGS[@]}" \
	    --with-compat --builddir=$(OBJS) \
	    --with-cc-opt="-Wextra -Wno-unused-parameter $(NGX_CC_OPT)" \
	    $(if $(NGX_LD_OPT),--with-ld-opt="$(NGX_LD_OPT)") \
	    --add-dynamic-module=$(CURDIR) > $(BUILD)/configure.log 2>&1 \
	  || { tail -30 $(BUILD)/configure.log; exit 1; }

$(MODULE): $(OBJS)/Makefile $(SRCS)
	@$(MAKE) -s -j$(JOBS) -C $(NGXTREE) -f $(OBJS)/Makefile modules

run: deps module
	@bash .ci/demo.sh start

stop:
	@bash .ci/demo.sh stop

# how many test files run at once: four on two cores, as most of a test's
# time is waiting (a timer, a browser, a restart): the module's suite takes
# 244-256 s so, 443 s two at a time (docs/testing.md)
TEST_JOBS ?= 4

# the module's suite (unit tests, fuzz smoke, signaling, auth, guards,
# Redis, browsers), the signaling, guard and auth tests again on the Redis
# store and over TLS, then the recorder's suite
test: deps module recorder
	@prove -j$(TEST_JOBS) t/*.t
	@$(MAKE) -s test-redis
	@$(MAKE) -s test-tls
	@$(MAKE) -s test-recorder

# the signaling, guard, auth and security (t/9*) tests again, each on a
# Redis store of its own (docs/redis.md)
test-redis: deps module
	@HOTLINE_STORE=redis prove -j$(TEST_JOBS) t/1*.t t/2*.t t/3*.t t/5*.t t/9*.t

# the signaling (handshake, frames, queue, relay, resume, workers, reload),
# limit (limit_conn's place freed by a close too), ban and auth tests
# again, each nginx listening with "ssl" and a certificate made at test
# time, every client speaking TLS
# (t/lib/Hotline/Test.pm)
TLS_TESTS := t/1?-*.t t/158-read-confirm.t t/159-frame-batch.t \
             t/161-inbox-ring.t t/20-limits.t t/33-limit.t t/36-rate.t \
             t/39-ban.t t/5*.t t/84-limit-conn.t

test-tls: deps module
	@HOTLINE_TLS=1 prove -j2 $(TLS_TESTS)

recorder:
	@$(MAKE) -s -C src/recorder -j$(JOBS) all

# the module and the recorder built with AddressSanitizer and UBSan in
# build/asan, the stock nginx run with libasan preloaded (t/lib/asan-nginx):
# the unit, fuzz smoke, signaling, limit, auth, Redis and fault tests on
# both stores, and the recorder's tests; a sanitizer report in
# build/asan/reports fails the run (docs/testing.md)
ASAN       := $(BUILD)/asan
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer
ASAN_TESTS := t/0*.t t/1*.t t/2*.t t/3*.t t/4*.t t/5*.t t/6*.t t/8[0-4]*.t \
              t/89*.t t/9*.t
ASAN_REDIS := t/1*.t t/9*.t
ASAN_ENV    = HOTLINE_ASAN=$(ASAN)/reports \
              HOTLINE_NGINX=$(CURDIR)/t/lib/asan-nginx NGINX_BIN=$(NGINX) \
              HOTLINE_MODULE=$(ASAN)/objs/ngx_http_hotline_module.so \
              BUILD=$(ASAN) CFLAGS="-O1 -g $(ASAN_FLAGS)" \
              ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0 \
              LSAN_OPTIONS=print_suppressions=0:suppressions=$(CURDIR)/t/lib/lsan.supp \
              UBSAN_OPTIONS=print_stacktrace=1

test-asan: deps recorder
	@$(MAKE) -s module BUILD=$(ASAN) NGX_CC_OPT="-O1 -g $(ASAN_FLAGS)" \
	    NGX_LD_OPT="$(ASAN_FLAGS) -Wl,-z,nodelete"
	@rm -rf $(ASAN)/reports && mkdir -p $(ASAN)/reports/recorder \
	    $(ASAN)/recorder
	@ln -sfn $(BUILD)/recorder/libwebm $(ASAN)/recorder/libwebm
	@ln -sfn $(BUILD)/recorder/libsrtp2 $(ASAN)/recorder/libsrtp2
	@ln -sfn $(BUILD)/recorder/npm $(ASAN)/recorder/npm
	@touch $(ASAN)/recorder/.deps
	@s=$$(date +%s); rc=0; \
	$(ASAN_ENV) prove -j2 $(ASAN_TESTS) || rc=1; \
	$(ASAN_ENV) HOTLINE_STORE=redis prove -j2 $(ASAN_REDIS) || rc=1; \
	ASAN_OPTIONS=detect_leaks=1:log_path=$(ASAN)/reports/recorder/asan \
	UBSAN_OPTIONS=print_stacktrace=1:log_path=$(ASAN)/reports/recorder/ubsan \
	$(MAKE) -s -C src/recorder -j$(JOBS) test B=$(ASAN)/recorder \
	    CFLAGS="-O1 -g $(ASAN_FLAGS)" CXXFLAGS="-O1 -g $(ASAN_FLAGS)" \
	    LDFLAGS="$(ASAN_FLAGS)" || rc=1; \
	reports=$$(grep -rlE 'ERROR|runtime error|WARNING' $(ASAN)/reports \
	           | sort); \
	echo "test-asan: $$(( $$(date +%s) - s )) s, $$(echo $$reports | wc -w) sanitizer reports"; \
	for f in $$reports; do echo "== $$f"; head -30 $$f; done; \
	[ $$rc = 0 ] && [ -z "$$reports" ]

# another nginx: NGX_SRC a whole source tree (nginx.org, a git checkout,
# OpenResty's bundle/nginx-*); that nginx and the module are built in
# build/compat/<version> and the smoke tests run with them
# (docs/deployment.md lists the versions verified)
COMPAT_TESTS := t/10-handshake.t t/11-frames.t t/12-queue.t t/13-relay.t \
                t/14-resume.t t/16-reload.t t/19-status.t \
                t/31-security-headers.t t/80-tls.t t/81-http2.t \
                t/84-limit-conn.t

compat:
	@bash .ci/deps.sh build test compat
	@bash .ci/compat.sh $(NGX_SRC) $(BUILD)/compat $(COMPAT_TESTS)

# libnginx-mod-http-hotline and hotline-recorder, built by
# dpkg-buildpackage from a copy of the sources (.ci/deb.sh); again only
# when something they hold changed
DEB_DIR  := $(BUILD)/deb
DEB_SRCS := $(SRCS) $(wildcard src/recorder/*.[ch] src/recorder/*.cc) \
            src/recorder/Makefile $(wildcard deploy/debian/* \
            deploy/debian/source/* deploy/prometheus/* deploy/grafana/*) \
            $(shell find html -type f) $(wildcard docs/*.md) README.md \
            nginx.conf.example .ci/deb.sh

deb: $(DEB_DIR)/.built

$(DEB_DIR)/.built: $(DEB_SRCS)
	@$(MAKE) -s recorder
	@bash .ci/deb.sh $(DEB_DIR) >/dev/null
	@touch $@

# every state of both pages at a laptop's and a phone's size, in both
# languages (docs/ui.md): for people to look at, not part of make test
screenshots: deps module
	@prove t/e2e/screenshots.pl

test-recorder:
	@$(MAKE) -s -C src/recorder -j$(JOBS) test

bench-recorder:
	@$(MAKE) -s -C src/recorder bench

fuzz-recorder:
	@$(MAKE) -s -C src/recorder fuzz FUZZ_TIME=$${FUZZ_SECONDS:-60}

fuzz: module
	@$(MAKE) -s -C fuzz OBJS=$(OBJS) NGX_SRC=$(NGX_SRC) run \
	    FUZZ_SECONDS=$${FUZZ_SECONDS:-60}

bench: deps-bench module
	@$(MAKE) -s -C bench OBJS=$(OBJS) run
	@$(MAKE) -s bench-recorder

# the queue at scale (bench/queue_scale.sh: SIZES, MODES, AGENTS, ROUNDS,
# WORKERS, PROCS, INTERVAL); too long for `make bench`
bench-queue: deps module
	@$(MAKE) -s -C bench OBJS=$(OBJS) queue

# a restart with 5,000 and 50,000 customers waiting: the handoff file's
# read (bench/handoff_restart.sh: SIZES, WORKERS, LOADERS, JOIN_TIMEOUT)
bench-handoff: deps module
	@$(MAKE) -s -C bench OBJS=$(OBJS) handoff

# 100,000 idle joined customers (bench/conns.sh through bench/Makefile's
# hundredk: WORKERS, LOADERS, CONNS, SOURCES, JOIN_TIMEOUT, METRICS, ...)
bench-hundredk: deps module
	@$(MAKE) -s -C bench OBJS=$(OBJS) hundredk

# 20 calls a second for 30 minutes; the workers' memory and descriptors
# and the zone at start, middle, end and after, anything that grows
# flagged (bench/soak.pl: SOAK_SECONDS, SOAK_RATE, SOAK_AGENTS,
# SOAK_SAMPLE, SOAK_STORE=redis, SOAK_CSV; docs/performance.md)
soak: deps module
	@perl bench/soak.pl

clean:
	rm -rf $(BUILD)
