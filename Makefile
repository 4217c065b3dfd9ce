# hmctl build. Every dependency is found with pkg-config; `make deps` installs them.
# Sources are picked up by wildcard, so a new file in a library directory needs no edit here.

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc

PKGS     = ncursesw libcurl jansson libssh2 sqlite3 openssl inih libmariadb libarchive zlib xlsxwriter
SIM_PKGS = libmicrohttpd jansson openssl
TEST_PKGS = cmocka

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

CFLAGS  ?= -O2 -g
CFLAGS  += -DFIXTURES='"$(CURDIR)/tests/fixtures"' -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -pthread \
           -DHMCTL_VERSION='"$(VERSION)"' -I. -MMD -MP
ifdef SAN
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -O1
LDFLAGS += -fsanitize=address,undefined
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
SIM_CFLAGS := $(shell pkg-config --cflags $(SIM_PKGS) 2>/dev/null)
SIM_LIBS   := $(shell pkg-config --libs $(SIM_PKGS) 2>/dev/null)
TEST_LIBS  := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)
LIBS       := $(PKG_LIBS) -lm -pthread

LIB_DIRS  = lib ssh console collectors store core alerts reports drill tui ops
LIB_SRCS  = $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
LIB_OBJS  = $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CMD_SRCS  = $(wildcard hmctl/*.c)
CMD_OBJS  = $(CMD_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/commands.o
SIM_SRCS  = $(wildcard sim/*.c)
SIM_OBJS  = $(SIM_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Small programs the shell tests and benchmarks drive (tests/tools/NAME.c -> $(BUILD)/tools/NAME).
TOOL_SRCS = $(wildcard tests/tools/*.c)
TOOL_BINS = $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)

HMCTL  = $(BUILD)/hmctl
HMSIM  = $(BUILD)/hmsim
LIBHM  = $(BUILD)/libhm.a

.PHONY: all test check-asan unit bats demo deps install clean bench lint-man
all: $(HMCTL) $(if $(SIM_SRCS),$(HMSIM))

# `make V=1` shows the full commands.
ifeq ($(V),1)
Q =
else
Q = @
endif

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/obj/sim/%.o: sim/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) $(SIM_CFLAGS) -c -o $@ $<

$(LIBHM): $(LIB_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

# The command table is generated from the entries the cmd-*.c files define, so adding a
# command is adding a file (the tmux way).
$(BUILD)/gen/commands.c: $(CMD_SRCS) hmctl/gen-commands.sh
	@mkdir -p $(dir $@)
	$(Q)sh hmctl/gen-commands.sh $(CMD_SRCS) > $@

$(BUILD)/obj/gen/commands.o: $(BUILD)/gen/commands.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(HMCTL): $(CMD_OBJS) $(LIBHM)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CMD_OBJS) $(LIBHM) $(LIBS)

$(HMSIM): $(SIM_OBJS) $(LIBHM)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(SIM_OBJS) $(LIBHM) $(SIM_LIBS) $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIBHM)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIBHM) $(TEST_LIBS) $(LIBS)

$(BUILD)/tools/%: tests/tools/%.c $(LIBHM)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBHM) $(LIBS)

deps:
	@sh tests/lab/deps.sh

unit: $(UNIT_BINS)
	@sh tests/run-unit.sh $(UNIT_BINS)

bats: all $(TOOL_BINS)
	@BUILD=$(BUILD) sh tests/run-bats.sh

# `make test`: install what is missing, build, run the unit tests, then the CLI tests against
# the lab of real servers (tests/lab).
test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS) $(TOOL_BINS)
	@$(MAKE) --no-print-directory unit bats

check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 all
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 unit bats

demo: deps all
	@BUILD=$(BUILD) sh tests/lab/demo.sh

bench: deps all $(TOOL_BINS)
	@BUILD=$(BUILD) sh tests/bench/run.sh

lint-man:
	@sh tests/lint-man.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 755 $(HMCTL) $(DESTDIR)$(PREFIX)/bin/hmctl
	install -m 644 man/hmctl*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -d $(DESTDIR)$(PREFIX)/share/hmctl/plans
	install -m 644 packaging/plans/*.plan $(DESTDIR)$(PREFIX)/share/hmctl/plans/
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	           $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions \
	           $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 644 completions/hmctl.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/hmctl
	install -m 644 completions/_hmctl $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_hmctl
	install -m 644 completions/hmctl.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/hmctl.fish

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
