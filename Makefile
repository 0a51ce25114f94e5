# Tessera - hand-written, non-recursive Makefile.  ./configure writes config.mk.
#   make            build ./tessera
#   make check      unit tests, then HTTP tests (real daemon, nginx, embedded HTTP)
#   make unit       unit tests only
#   make bench      benchmarks against iipsrv (bench/)
#   make fuzz       build the libFuzzer targets (clang) and run each FUZZ_SECONDS
#   make fuzz-http  the daemon under ASan/UBSan, fed mutated requests for FUZZ_SECONDS
#   make tsan       the daemon under ThreadSanitizer, under concurrent load
#   make install    install binary, man pages and example config under PREFIX

-include config.mk

PREFIX  ?= /usr/local
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter -Wno-sign-compare
CPPFLAGS_ALL := -std=c11 -D_GNU_SOURCE -Iinclude -I. $(TS_CFLAGS)
LIBS    := $(TS_LIBS)

SRC     := $(sort $(shell find src -name '*.c' ! -name main.c))
OBJ     := $(SRC:src/%.c=build/obj/%.o)
UNIT_SRC := $(sort $(shell find tests/unit -name 'test_*.c' 2>/dev/null))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/unit/%)

all: tessera

config.mk:
	@echo "Run ./configure first (after: sh tools/install-deps.sh)"; exit 1

build/obj/%.o: src/%.c config.mk $(wildcard include/tessera/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(WARN) $(CFLAGS) -MMD -MP -c -o $@ $<

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
# fuzz_media_probe: the audio/video probe's container parsers
FUZZ_SRC += $(wildcard src/probe/*.c)
# fuzz_jpeg_transcode: the coefficient transcoder and what it calls
FUZZ_SRC += src/encode/jpeg_transcode.c src/encode/jpeg_write.c src/encode/jpeg_icc.c \
            src/core/icc.c
# fuzz_sidecar, fuzz_csv: the iiif.json and metadata.csv readers
FUZZ_SRC += src/present/sidecar.c src/present/sidecar_walk.c src/present/sidecar_ranges.c \
            src/present/sidecar_merge.c src/present/csv.c src/present/present_check.c \
            src/present/html_check.c
# fuzz_present_url: the Presentation URL forms
FUZZ_SRC += src/proto/presentation.c
# Seeds and kept crash inputs of a target fuzz_x live in tests/fuzz/corpus/x/.
fuzz:
	@mkdir -p build/fuzz
	for f in tests/fuzz/fuzz_*.c; do \
		n=$$(basename $$f .c); \
		clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -I. \
			-o build/fuzz/$$n $$f $(FUZZ_SRC) -lturbojpeg -ljpeg -ljansson -lm || exit 1; \
		mkdir -p build/fuzz/$$n.corpus; \
		seeds=tests/fuzz/corpus/$${n#fuzz_}; [ -d $$seeds ] || seeds=; \
		dict=tests/fuzz/$$n.dict; [ -f $$dict ] && dict=-dict=$$dict || dict=; \
		build/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) $$dict build/fuzz/$$n.corpus $$seeds || exit 1; \
	done

install: tessera
	install -D -m 755 tessera $(DESTDIR)$(PREFIX)/bin/tessera
	install -D -m 644 man/tessera.8 $(DESTDIR)$(PREFIX)/share/man/man8/tessera.8
	install -D -m 644 man/tessera.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/tessera.conf.5
	install -D -m 644 conf/tessera.conf $(DESTDIR)/etc/tessera/tessera.conf.example

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
