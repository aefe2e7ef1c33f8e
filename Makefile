# cairn — plain Makefile over pkg-config.
#
#   make                      build ./cairn
#   make check                build and run every test (tests/run)
#   make DEVELOPER=1          warnings are errors
#   make SANITIZE=address,undefined check
#   make fuzz                 build the libFuzzer targets (needs clang)

PKGS     := fuse3 libcurl sqlite3 jansson openssl liblz4 libzstd libgcrypt
CC       ?= cc
CLANG    ?= clang
O        ?= build$(if $(SANITIZE),-san)

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))

WARN := -Wall -Wextra -Wformat=2 -Wshadow -Wmissing-prototypes \
        -Wstrict-prototypes -Wvla -Wpointer-arith -Wno-unused-parameter
CFLAGS   ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -pthread \
              -Iinclude $(WARN) $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
LDLIBS   := $(PKG_LIBS) -pthread -lm

ifdef DEVELOPER
ALL_CFLAGS += -Werror
endif
ifdef SANITIZE
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS    += -fsanitize=$(SANITIZE)
endif

LIB_SRC   := $(wildcard lib/*.c)
STORE_SRC := $(wildcard store/*.c)
NET_SRC   := $(wildcard net/*.c)
FS_SRC    := $(wildcard fs/*.c)
CLI_SRC   := $(wildcard cli/*.c)

CORE_SRC  := $(LIB_SRC) $(STORE_SRC) $(NET_SRC) $(FS_SRC)
CORE_OBJ  := $(CORE_SRC:%.c=$(O)/%.o)
CLI_OBJ   := $(CLI_SRC:%.c=$(O)/%.o)

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:%.c=$(O)/%)
BACKEND_BIN := $(O)/tests/backend/conformance

FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  := $(FUZZ_SRC:%.c=$(O)/%)

all: cairn

# The binary is linked per build directory (build/, build-san/) and copied
# to ./cairn, so switching between plain and sanitizer builds never leaves a
# stale ./cairn behind.
cairn: $(O)/cairn
	@cmp -s $< $@ || cp $< $@

$(O)/cairn: $(O)/libcairn.a $(CLI_OBJ)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(O)/libcairn.a $(LDLIBS)

$(O)/libcairn.a: $(CORE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O)/tests/unit/%: tests/unit/%.c tests/unit/harness.h $(O)/libcairn.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(O)/libcairn.a $(LDLIBS)

$(BACKEND_BIN): tests/backend/conformance.c tests/unit/harness.h $(O)/libcairn.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(O)/libcairn.a $(LDLIBS)

tests: cairn $(UNIT_BIN) $(BACKEND_BIN)

# Fuzz targets are built with clang's libFuzzer against the core sources
# compiled separately (sanitizer coverage must cover the decoders).
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -pthread -Iinclude \
               $(PKG_CFLAGS) -O1 -g -fsanitize=fuzzer-no-link,address,undefined
$(O)/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -c -o $@ $<

FUZZ_CORE_OBJ := $(CORE_SRC:%.c=$(O)/fuzz/%.o)
$(O)/tests/fuzz/%: tests/fuzz/%.c $(FUZZ_CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_CORE_OBJ) $(LDLIBS)

fuzz: $(FUZZ_BIN)

.SECONDARY: $(FUZZ_CORE_OBJ)

check: tests
	+O=$(O) CLANG=$(CLANG) tests/run

clean:
	rm -rf $(O) cairn

.PHONY: all cairn tests check fuzz clean
.DELETE_ON_ERROR:

-include $(shell find $(O) -name '*.d' 2>/dev/null)
