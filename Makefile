# podfence build. `make` builds everything into build/; `make test` runs every
# test and ends with one "N passed, N failed" line. Quiet unless V=1.
BUILD   ?= build
CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
ARCH_INC := /usr/include/$(shell $(CC) -dumpmachine)

Q := $(if $(V),,@)
PKGS    := libbpf libnl-route-3.0 jansson yaml-0.1 libmicrohttpd libcurl
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
           -Iabi -Ilib -I$(BUILD) $(shell pkg-config --cflags $(PKGS))
# --as-needed: each program records only the libraries it uses (libcurl's
# thirty dependencies cost the CNI plugin 15 ms of start-up per call).
# http-parser ships no pkg-config file.
LDLIBS  := -Wl,--as-needed $(shell pkg-config --libs $(PKGS)) -lhttp_parser -lelf -lz -lpthread
BPF_CFLAGS := -O2 -g -Wall -Werror -target bpf -D__BPF__ -Iabi -I$(ARCH_INC)

# One folder per program; the folder's .c files plus libpodfence make it.
PROGRAMS := cli:podfence-ctl cni:podfence-cni ipamd:podfence-ipamd \
            agent:podfence-agent controller:podfence-controller init:podfence-init
prog_dir = $(word 1,$(subst :, ,$1))
prog_bin = $(word 2,$(subst :, ,$1))
PRESENT  := $(foreach p,$(PROGRAMS),$(if $(wildcard $(call prog_dir,$p)/*.c),$p))
BINS     := $(foreach p,$(PRESENT),$(BUILD)/$(call prog_bin,$p))

LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libpodfence.a
SKEL     := $(BUILD)/podfence.skel.h
BPF_OBJ  := $(BUILD)/podfence.bpf.o

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c))
BPF_TESTS  := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(wildcard tests/bpf/test_*.c))
BENCHES    := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
TEST_HELPERS := $(wildcard tests/helpers/*.c)

.SECONDARY:
.PHONY: all test test-unit test-bpf test-e2e bench clean demo
all: $(LIB) $(BINS) $(UNIT_TESTS) $(BPF_TESTS) $(BENCHES)

$(BPF_OBJ): bpf/podfence.bpf.c $(wildcard bpf/lib/*.h) abi/podfence_abi.h
	@mkdir -p $(@D)
	$(if $(Q),@echo "  BPF     $@")
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKEL): $(BPF_OBJ)
	$(if $(Q),@echo "  SKEL    $@")
	$(Q)$(BPFTOOL) gen skeleton $< name podfence > $@.tmp && mv $@.tmp $@

# -MMD: each object also depends on the headers it really includes
# (program folders have their own), tracked in its .d file.
$(BUILD)/%.o: %.c $(SKEL)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

$(LIB): $(LIB_OBJS)
	$(if $(Q),@echo "  AR      $@")
	$(Q)$(AR) rcs $@ $^

define PROGRAM_RULE
$(BUILD)/$(call prog_bin,$1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(call prog_dir,$1)/*.c)) $(LIB)
	$$(if $$(Q),@echo "  LINK    $$@")
	$$(Q)$$(CC) $$(CFLAGS) $$^ -o $$@ $$(LDLIBS)
endef
$(foreach p,$(PRESENT),$(eval $(call PROGRAM_RULE,$p)))

# podfence-cni alone is linked statically. podfence-init copies it onto the
# host's /opt/cni/bin, where it runs in the host's userspace, which need not
# have libnl, jansson or http-parser (the AWS plugin is a static Go binary);
# and a runtime starts it for every call, where the dynamic loader's work was
# half its start-up (VERSION spawn-to-exit 4.5 ms dynamic, 2.7 ms static).
# libnl references getaddrinfo and getprotobyname/number (in functions that
# format objects for printing, which the plugin never calls): glibc warns
# that those need its shared NSS modules at run time; --no-warnings (ld 2.40)
# silences those warnings.
$(BUILD)/podfence-cni: LDLIBS := -static -Wl,--no-warnings \
	$(shell pkg-config --static --libs libnl-route-3.0 jansson) -lhttp_parser

$(BUILD)/tests/%: tests/%.c $(TEST_HELPERS:%.c=$(BUILD)/%.o) $(LIB) $(SKEL)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -Itests/helpers $< $(TEST_HELPERS:%.c=$(BUILD)/%.o) $(LIB) -o $@ $(LDLIBS) -lcmocka

$(BUILD)/bench/%: bench/%.c $(LIB) $(SKEL)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  BENCH   $@")
	$(Q)$(CC) $(CFLAGS) -MMD -MP $< $(LIB) -o $@ $(LDLIBS) -lm

test: all
	$(Q)BUILD=$(BUILD) tests/run-all.sh all
test-unit: all
	$(Q)BUILD=$(BUILD) tests/run-all.sh unit
test-bpf: all
	$(Q)BUILD=$(BUILD) tests/run-all.sh bpf
test-e2e: all
	$(Q)BUILD=$(BUILD) tests/run-all.sh e2e
bench: all
	$(Q)for b in $(BENCHES); do echo "== $$b"; $$b || exit 1; done
demo: all
	$(Q)BUILD=$(BUILD) scripts/demo.sh
	$(Q)BUILD=$(BUILD) scripts/demo-node.sh
clean:
	rm -rf $(BUILD)
