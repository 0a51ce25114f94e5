# Tessera - hand-written, non-recursive Makefile.  ./configure writes config.mk.
#   make            build ./tessera
#   make check      unit tests, then HTTP tests (real daemon, nginx, embedded HTTP)
#   make unit       unit tests only
#   make bench      benchmarks against iipsrv (bench/)
#   make fuzz       build the libFuzzer targets (clang) and run each FUZZ_SECONDS
#   make fuzz-http  the daemon under ASan/UBSan, fed mutated requests for FUZZ_SECONDS
#   make tsan       the daemon under ThreadSanitizer, under concurrent load
#   make install    program, man pages, viewer and conf templates under PREFIX (README.md)

-include config.mk

# Installation directories: ./configure --prefix=DIR writes PREFIX (and any
# --bindir, --datadir, --mandir, --sysconfdir given) to config.mk; `make
# install PREFIX=DIR DESTDIR=STAGE` overrides.  The configuration file stays
# in /etc/tessera unless SYSCONFDIR says otherwise.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
MANDIR  ?= $(DATADIR)/man
SYSCONFDIR ?= /etc
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter -Wno-sign-compare
CPPFLAGS_ALL := -std=c11 -D_GNU_SOURCE -Iinclude -I. $(TS_CFLAGS) -DTS_DATADIR='"$(DATADIR)"'
LIBS    := $(TS_LIBS)

SRC     := $(sort $(shell find src -name '*.c' ! -name main.c))
OBJ     := $(SRC:src/%.c=build/obj/%.o)
# C++ sources (the OpenJPH shim): built only when configure found what they
# need (TS_CXX_SOURCES = yes in config.mk).
CXX     ?= g++
CXXFLAGS ?= -O2 -g
CXXSRC  := $(if $(filter yes,$(TS_CXX_SOURCES)),$(sort $(shell find src -name '*.cpp')))
OBJ     += $(CXXSRC:src/%.cpp=build/obj/%.o)
UNIT_SRC := $(sort $(shell find tests/unit -name 'test_*.c' 2>/dev/null))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/unit/%)

all: tessera

config.mk:
	@echo "Run ./configure first (after: sh tools/install-deps.sh)"; exit 1

build/obj/%.o: src/%.c config.mk $(wildcard include/tessera/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(WARN) $(CFLAGS) -MMD -MP -c -o $@ $<

build/obj/%.o: src/%.cpp config.mk $(wildcard include/tessera/*.h)
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -D_GNU_SOURCE -Iinclude -I. $(TS_CFLAGS) $(WARN) $(CXXFLAGS) -MMD -MP -c -o $@ $<

build/libtessera.a: $(OBJ)
	@rm -f $@
	ar rcs $@ $^

tessera: build/obj/main.o build/libtessera.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

build/unit/%: tests/unit/%.c build/libtessera.a tests/unit/check.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) -Itests/unit $(WARN) $(CFLAGS) -o $@ $< build/libtessera.a $(LIBS)

unit: $(UNIT_BIN)
	@sh tests/run-unit.sh $(UNIT_BIN)

check: tessera $(UNIT_BIN)
	@sh tests/check.sh $(UNIT_BIN)

bench: tessera
	sh bench/run.sh

# Parsers are pure, so their fuzz targets link only the parser sources.
FUZZ_SECONDS ?= 60
FUZZ_SRC := src/proto/iiif_image.c src/proto/deepzoom.c src/proto/zoomify.c src/proto/iip.c \
            src/pipe/plan.c src/core/status.c src/core/arena.c src/core/buf.c \
            src/encode/jpeg_crop.c
# fuzz_byte_range: the Range / If-Range parser
FUZZ_SRC += src/proto/byte_range.c
# fuzz_media_probe: the audio/video probe's container parsers
FUZZ_SRC += $(wildcard src/probe/*.c)
# fuzz_jpeg_transcode: the coefficient transcoder and what it calls
FUZZ_SRC += src/encode/jpeg_transcode.c src/encode/jpeg_write.c src/encode/jpeg_icc.c \
            src/core/icc.c
# fuzz_present_url: the Presentation URL forms
FUZZ_SRC += src/proto/presentation.c
# fuzz_sidecar, fuzz_csv: the publishing metadata readers
FUZZ_SRC += $(wildcard src/present/sidecar*.c) src/present/csv.c \
            src/present/present_check.c src/present/html_check.c
# Seeds and kept crash inputs of a target fuzz_x live in tests/fuzz/corpus/x/.
fuzz:
	@mkdir -p build/fuzz
	for f in tests/fuzz/fuzz_*.c; do \
		n=$$(basename $$f .c); \
		clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
			-fno-sanitize-recover=undefined -Iinclude -I. \
			-o build/fuzz/$$n $$f $(FUZZ_SRC) -lturbojpeg -ljpeg -ljansson -lm || exit 1; \
		mkdir -p build/fuzz/$$n.corpus; \
		seeds=tests/fuzz/corpus/$${n#fuzz_}; [ -d $$seeds ] || seeds=; \
		dict=tests/fuzz/$$n.dict; [ -f $$dict ] && dict=-dict=$$dict || dict=; \
		build/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) $$dict build/fuzz/$$n.corpus $$seeds || exit 1; \
	done

# make install: the program, the man pages, the viewer (its pages and the
# OpenSeadragon and Mirador builds from viewer/node_modules) and the conf/
# templates with the installed paths written in; /etc/tessera/tessera.conf
# only when there is none yet.  README.md lists what it installs, and
# tests/http/test_install.py checks that list.
VIEWER_FILES := $(wildcard viewer/*.html viewer/*.js viewer/*.css)
VIEWER_BUILDS := node_modules/openseadragon/build node_modules/mirador/dist
CONF_TEMPLATES := tessera.conf nginx-tessera.conf apache-fcgid.conf tessera.service spawn-fcgi.sh
install: tessera
	install -D -m 755 tessera $(DESTDIR)$(BINDIR)/tessera
	install -D -m 644 man/tessera.8 $(DESTDIR)$(MANDIR)/man8/tessera.8
	install -D -m 644 man/tessera.conf.5 $(DESTDIR)$(MANDIR)/man5/tessera.conf.5
	install -D -m 644 man/tessera-publish.5 $(DESTDIR)$(MANDIR)/man5/tessera-publish.5
	install -d $(DESTDIR)$(DATADIR)/tessera/viewer $(DESTDIR)$(DATADIR)/tessera/conf
	install -m 644 $(VIEWER_FILES) $(DESTDIR)$(DATADIR)/tessera/viewer/
	@for d in $(VIEWER_BUILDS); do \
		if [ -d viewer/$$d ]; then \
			mkdir -p $(DESTDIR)$(DATADIR)/tessera/viewer/$$d && \
			cp -R viewer/$$d/. $(DESTDIR)$(DATADIR)/tessera/viewer/$$d/ || exit 1; \
		else \
			echo "make install: viewer/$$d is missing (sh tools/install-deps.sh installs it): the viewer page will not work"; \
		fi; \
	done
	@for f in $(CONF_TEMPLATES); do \
		sed -e 's|/usr/local/bin/tessera|$(BINDIR)/tessera|g' \
		    -e 's|/usr/local/share/tessera|$(DATADIR)/tessera|g' \
		    -e 's|/etc/tessera/|$(SYSCONFDIR)/tessera/|g' \
		    conf/$$f > $(DESTDIR)$(DATADIR)/tessera/conf/$$f || exit 1; \
	done
	chmod 755 $(DESTDIR)$(DATADIR)/tessera/conf/spawn-fcgi.sh
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/tessera/tessera.conf ]; then \
		echo "make install: kept $(DESTDIR)$(SYSCONFDIR)/tessera/tessera.conf (the new template is $(DATADIR)/tessera/conf/tessera.conf)"; \
	else \
		install -D -m 644 conf/tessera.conf $(DESTDIR)$(SYSCONFDIR)/tessera/tessera.conf; \
		echo "make install: wrote $(DESTDIR)$(SYSCONFDIR)/tessera/tessera.conf: set root in it"; \
	fi

clean:
	rm -rf build tessera

distclean: clean
	rm -f config.mk config.h config.log config.status

# The whole daemon under sanitizers: an HTTP fuzzer (ASan+UBSan) and a
# ThreadSanitizer load run (tests/fuzz/).
fuzz-http:
	sh tests/fuzz/build-sanitized.sh asan && /usr/bin/python3 tests/fuzz/http_fuzz.py --seconds $(FUZZ_SECONDS)

tsan:
	sh tests/fuzz/build-sanitized.sh tsan && /usr/bin/python3 tests/fuzz/tsan_load.py

.PHONY: all unit check bench fuzz fuzz-http tsan install clean distclean

-include $(OBJ:.o=.d) build/obj/main.d
