# rtmpkit: plain make, no autotools.
#   make                 lib/librtmpkit.a and every program in cmd/
#   make check           unit tests, then the bats tests of the programs; ends "N passed, N failed"
#   make check SANITIZE=1  the same, built with ASan+UBSan into .san/
#   make fuzz            every libFuzzer target for FUZZ_SECONDS (default 60) each;
#                        FUZZ_SEED=n pins the seed (CI does), make fuzz-build only builds
#   make bench           the three benchmarks below (sh tests/deps bench installs nodejs, npm)
#   make bench-clients   side-by-side CPU/RSS against rtmpdump and ffmpeg
#   make bench-servers   rtmp-listen | rtmp-relay beside nginx-rtmp and Node-Media-Server
#   make bench-balance   rtmp-balance beside HAProxy in TCP mode, in front of rtmp-relay
#   make deps            install the Debian packages the tests and the demo need
#   make demo            the main job, in the foreground
#   make install PREFIX=/usr/local DESTDIR=

CC ?= cc
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
# Units, sysusers and the files under /etc follow the FHS for PREFIX=/usr
# (Debian's package); any other prefix keeps them all under it.
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
FUZZ_SECONDS ?= 60
PKG_CONFIG ?= pkg-config

# Every program links OpenSSL (libssl, libcrypto), libbsd and libmd as
# shared libraries, the ordinary way: ldd shows them and dpkg-shlibdeps
# turns them into the Debian package's Depends (libssl3, libbsd0, libmd0).
# OpenSSL does TLS; the digest handshake's SHA-256 is libmd's, which costs
# a plain rtmp:// session no OpenSSL initialisation.  Unit tests and fuzz
# targets link the same libraries.
#
# Without pkg-config's answer the build would go on without -DLIBBSD_OVERLAY
# and fail far from the cause, so a missing package stops make here, before
# anything is built with the wrong flags (make deps and clean need none).
NO_BUILD_GOALS := deps clean uninstall lint-man
ifneq ($(filter-out $(NO_BUILD_GOALS),$(or $(MAKECMDGOALS),all)),)
DEP_CFLAGS := $(shell $(PKG_CONFIG) --cflags openssl libbsd-overlay libmd 2>/dev/null || echo FAILED)
ifeq ($(lastword $(DEP_CFLAGS)),FAILED)
$(error $(PKG_CONFIG) cannot find openssl and libbsd-overlay: run sh tests/deps first (it installs pkg-config, libssl-dev, libbsd-dev and the rest))
endif
DEP_LIBS := $(shell $(PKG_CONFIG) --libs openssl libbsd-overlay libmd)
endif
UNIT_LIBS := $(DEP_LIBS)

CFLAGS ?= -O2 -g
WARN = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS += -D_GNU_SOURCE -Ilib
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) $(DEP_CFLAGS)

ifeq ($(SANITIZE),1)
O := .san
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
O := .
endif

LIB_SRC := $(sort $(wildcard lib/*.c))
LIB_OBJ := $(patsubst %.c,$(O)/obj/%.o,$(LIB_SRC))
LIB := $(O)/lib/librtmpkit.a
PROGRAMS := $(patsubst %.c,%,$(sort $(wildcard cmd/rtmp-*.c)))
BINS := $(addprefix $(O)/,$(PROGRAMS))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst %.c,$(O)/obj/%,$(UNIT_SRC))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
MANPAGES := $(sort $(wildcard man/*.[1-9]))

all: $(LIB) $(BINS)

# Objects depend on the flags they were built with: a build with other
# flags (the deps installed since, CC=clang) never links stale objects.
BUILD_FLAGS = $(CC) $(CPPFLAGS) $(ALL_CFLAGS) | $(LDFLAGS) $(DEP_LIBS)
$(O)/obj/flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' >$@

$(O)/obj/%.o: %.c $(wildcard lib/*.h) $(O)/obj/flags
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(O)/cmd/%: $(O)/obj/cmd/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(DEP_LIBS)

$(O)/obj/tests/unit/%: $(O)/obj/tests/unit/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(UNIT_LIBS)

$(O)/obj/tests/unit/%.o: tests/unit/%.c tests/unit/unit.h $(wildcard lib/*.h) $(O)/obj/flags
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# The relay's load client (tests/load/rtmp-load.c): relay.bats runs it.
LOAD := $(O)/tests/load/rtmp-load
$(LOAD): $(O)/obj/tests/load/rtmp-load.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(DEP_LIBS)

check: all $(UNIT_BINS) $(LOAD)
	RTMPKIT_BIN=$(abspath $(O))/cmd RTMPKIT_UNIT="$(UNIT_BINS)" tests/run

# Unit tests only: quick, no peers.
check-unit: all $(UNIT_BINS)
	RTMPKIT_BIN=$(abspath $(O))/cmd RTMPKIT_UNIT="$(UNIT_BINS)" RTMPKIT_NO_BATS=1 tests/run

FUZZ_CC ?= clang
FUZZ_FLAGS = -std=c11 -g -O1 -D_GNU_SOURCE -Ilib $(DEP_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_SEED=$(FUZZ_SEED) tests/fuzz/run $(patsubst tests/fuzz/%.c,.fuzz/%,$(FUZZ_SRC))

fuzz-build:
	@mkdir -p .fuzz
	@set -e; for f in $(FUZZ_SRC); do \
		n=$$(basename $$f .c); \
		$(FUZZ_CC) $(FUZZ_FLAGS) -o .fuzz/$$n $$f $(LIB_SRC) $(DEP_LIBS); \
	done

bench: bench-clients bench-servers bench-balance

bench-clients: all
	RTMPKIT_BIN=$(abspath $(O))/cmd tests/bench/run

bench-servers: all $(LOAD)
	RTMPKIT_BIN=$(abspath $(O))/cmd tests/bench/servers

bench-balance: all $(LOAD)
	RTMPKIT_BIN=$(abspath $(O))/cmd tests/bench/balance

deps:
	sh tests/deps

demo: all
	RTMPKIT_BIN=$(abspath $(O))/cmd tests/demo

lint-man:
	mandoc -Tlint -W warning $(MANPAGES)

# dist/: systemd units and /etc/default files (@BINDIR@ and @SYSCONFDIR@
# become the install's paths in both), sysusers.d and the logrotate file.
UNITS := $(sort $(wildcard dist/systemd/*.service dist/systemd/*.socket))
DEFAULTS := $(sort $(wildcard dist/default/rtmp-*))
SYSUSERS := $(sort $(wildcard dist/sysusers/*.conf))
LOGROTATE := $(sort $(wildcard dist/logrotate/*))
DIST_SED = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)/
	for m in $(MANPAGES); do \
		s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; \
	done
	install -d $(DESTDIR)$(SYSTEMDDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/default $(DESTDIR)$(SYSCONFDIR)/logrotate.d
	for u in $(UNITS); do \
		$(DIST_SED) $$u >$(DESTDIR)$(SYSTEMDDIR)/$${u##*/} && \
		chmod 644 $(DESTDIR)$(SYSTEMDDIR)/$${u##*/} || exit 1; \
	done
	for f in $(DEFAULTS); do \
		$(DIST_SED) $$f >$(DESTDIR)$(SYSCONFDIR)/default/$${f##*/} && \
		chmod 644 $(DESTDIR)$(SYSCONFDIR)/default/$${f##*/} || exit 1; \
	done
	for f in $(SYSUSERS); do install -m 644 $$f $(DESTDIR)$(SYSUSERSDIR)/; done
	for f in $(LOGROTATE); do \
		$(DIST_SED) $$f >$(DESTDIR)$(SYSCONFDIR)/logrotate.d/$${f##*/} && \
		chmod 644 $(DESTDIR)$(SYSCONFDIR)/logrotate.d/$${f##*/} || exit 1; \
	done

uninstall:
	for p in $(notdir $(PROGRAMS)); do rm -f $(DESTDIR)$(BINDIR)/$$p; done
	for m in $(notdir $(MANPAGES)); do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$$m; done
	for u in $(notdir $(UNITS)); do rm -f $(DESTDIR)$(SYSTEMDDIR)/$$u; done
	for f in $(notdir $(DEFAULTS)); do rm -f $(DESTDIR)$(SYSCONFDIR)/default/$$f; done
	for f in $(notdir $(SYSUSERS)); do rm -f $(DESTDIR)$(SYSUSERSDIR)/$$f; done
	for f in $(notdir $(LOGROTATE)); do rm -f $(DESTDIR)$(SYSCONFDIR)/logrotate.d/$$f; done

clean:
	rm -rf obj lib/librtmpkit.a $(addprefix ./,$(PROGRAMS)) tests/load/rtmp-load .san .clang .fuzz

FORCE:
.PHONY: FORCE all check check-unit fuzz fuzz-build bench bench-clients bench-servers bench-balance deps demo lint-man install uninstall clean
.SECONDARY:
