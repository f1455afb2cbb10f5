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
        recorder test-recorder bench-recorder fuzz-recorder test-redis

all: module

help:
	@echo "make          build build/objs/ngx_http_hotline_module.so"
	@echo "make run      install what is missing, build, start the demo on :8080"
	@echo "make stop     stop the demo"
	@echo "make test     install what is missing, build, run the test suite"
	@echo "make test-redis  the signaling suite on a Redis store"
	@echo "make bench    run the benchmarks (docs/performance.md)"
	@echo "make fuzz     run the fuzz targets for longer (FUZZ_SECONDS=60)"
	@echo "make recorder build hotline-recorder (test-, bench-, fuzz-recorder)"

deps:
	@bash .ci/deps.sh

module: $(MODULE)

# nginx's configure writes a Makefile into the directory it runs in, so it
# runs in a symlinked copy of the nginx-dev tree inside build/.
$(OBJS)/Makefile: config
	@rm -rf $(NGXTREE) && mkdir -p $(BUILD) && cp -rs $(NGX_SRC) $(NGXTREE)
	@cd $(NGXTREE) && . ./conf_flags && ./configure "$${NGX_CONF_FLAGS[@]}" \
	    --with-compat --builddir=$(OBJS) \
	    --with-cc-opt="-Wextra -Wno-unused-parameter" \
	    --add-dynamic-module=$(CURDIR) > $(BUILD)/configure.log 2>&1 \
	  || { tail -30 $(BUILD)/configure.log; exit 1; }

$(MODULE): $(OBJS)/Makefile $(SRCS)
	@$(MAKE) -s -j$(JOBS) -C $(NGXTREE) -f $(OBJS)/Makefile modules

run: deps module
	@bash .ci/demo.sh start

stop:
	@bash .ci/demo.sh stop

# the module's suite (unit tests, fuzz smoke, signaling, auth, guards,
# Redis, browsers), the signaling, guard and auth tests again on the Redis
# store, then the recorder's suite
test: deps module recorder
	@prove -j2 t/*.t
	@$(MAKE) -s test-redis
	@$(MAKE) -s test-recorder

# the signaling, guard, auth and security (t/8*) tests again, each on a
# Redis store of its own (docs/redis.md)
test-redis: deps module
	@HOTLINE_STORE=redis prove -j2 t/1*.t t/2*.t t/3*.t t/5*.t t/8*.t

recorder:
	@$(MAKE) -s -C src/recorder -j$(JOBS) all

test-recorder:
	@$(MAKE) -s -C src/recorder -j$(JOBS) test

bench-recorder:
	@$(MAKE) -s -C src/recorder bench

fuzz-recorder:
	@$(MAKE) -s -C src/recorder fuzz FUZZ_TIME=$${FUZZ_SECONDS:-60}

fuzz: module
	@$(MAKE) -s -C fuzz OBJS=$(OBJS) NGX_SRC=$(NGX_SRC) run \
	    FUZZ_SECONDS=$${FUZZ_SECONDS:-60}

bench: deps module
	@$(MAKE) -s -C bench OBJS=$(OBJS) run
	@$(MAKE) -s bench-recorder

clean:
	rm -rf $(BUILD)
