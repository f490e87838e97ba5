# libembedviz - build, test, install.
#   make            shared + static library in build/
#   make check      install missing Debian packages, build, run every test
#   make bench      speed and quality against the peers (FAISS, scikit-learn, ...)
#   make demo       the main job on the built-in data
#   make install PREFIX=/usr/local DESTDIR=
#   make uninstall
#   make deps       install missing Debian packages (as root: apt-get)
#   make WITH_TORCH=0   build without libtorch (extraction reports
#                       EV_ERR_UNSUPPORTED); default: detected.

# The version comes from the header's EV_VERSION_MAJOR/MINOR/PATCH.
EV_VERSION_PART = $(shell awk '$$2 == "EV_VERSION_$(1)" {print $$3}' include/embedviz/core.h)
SOVERSION   := $(call EV_VERSION_PART,MAJOR)
LIBVERSION  := $(SOVERSION).$(call EV_VERSION_PART,MINOR).$(call EV_VERSION_PART,PATCH)
PREFIX      ?= /usr/local
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR     ?=
PYTHON      ?= /usr/bin/python3

# BUILD is per flavour so sanitizer builds never mix with the normal one.
SAN ?=
ifeq ($(SAN),)
BUILD ?= build
SANFLAGS :=
else ifeq ($(SAN),asan)
BUILD ?= build-asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(SAN),tsan)
# ThreadSanitizer with clang and LLVM's OpenMP runtime (libomp-14-dev): gcc's
# libgomp is not built with TSan, so its barriers are invisible to it and
# every parallel loop looks racy. libomp plus its Archer tool (loaded by
# tests/sanitizers/run-tsan.sh) tells TSan about OpenMP's synchronisation.
BUILD ?= build-tsan
CC := clang
CXX := clang++
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
SAN_LIBS := -Wl,-rpath,/usr/lib/llvm-14/lib
else
$(error SAN must be empty, asan or tsan)
endif

CC      ?= cc
CXX     ?= c++
OPT     ?= -O2
WARN    := -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS_LIB := -std=c11 -D_GNU_SOURCE $(OPT) -g -fPIC -fvisibility=hidden -fopenmp \
              -DEV_BUILDING_LIBRARY -Iinclude -Ilib $(WARN) $(SANFLAGS) $(CFLAGS)
NPROC       := $(shell nproc 2>/dev/null || echo 2)
DEP_LIBS := -lopenblas -llapacke -larpack -lfftw3f -lz -lm -fopenmp $(SAN_LIBS)

# libtorch: detected unless WITH_TORCH is given. libtorch is used only by
# the backend module (see "the libtorch backend module" below); the library
# itself never links it.
TORCH_INC := /usr/include/torch/csrc/api/include
ifeq ($(origin WITH_TORCH),undefined)
WITH_TORCH := $(if $(wildcard $(TORCH_INC)/torch/torch.h),1,0)
endif
# dlopen of the backend module, pthread_once.
DEP_LIBS += -ldl -lpthread

# The library: every C source of lib/ except the backend module's.
MODULE_C_SRCS := lib/extract/zipcheck.c $(wildcard lib/extract/module/*.c)
LIB_C_SRCS := $(filter-out $(MODULE_C_SRCS),$(wildcard lib/*/*.c))
LIB_OBJS   := $(patsubst %.c,$(BUILD)/%.o,$(LIB_C_SRCS))

# ---- the libtorch backend module (docs/extract.md) ----
# lib/extract/*.cpp (the C++ shim over libtorch), zipcheck.c and module/*.c
# become $(BUILD)/libembedviz-torch.so, which the library dlopen()s the
# first time extraction is used (lib/extract/loader.c). It exports one
# symbol (lib/extract/module/backend.map) and uses the library's own error,
# allocation and checking functions through the table the library hands it
# (lib/extract/backend.h), so it links no copy of the library. Installed
# in BACKEND_DIR; the library also looks beside itself (the build tree) and
# in its embedviz/ subfolder, or only in the folder EMBEDVIZ_BACKEND_DIR
# names. WITH_TORCH=0: the library without its module.
BACKEND_DIR ?= $(LIBDIR)/embedviz
BACKEND_FILE := libembedviz-torch.so
ifeq ($(WITH_TORCH),1)
MODULE := $(BUILD)/$(BACKEND_FILE)
# The shim is glue around libtorch's calls (libtorch does the work, and it
# is not rebuilt): the sanitizer builds compile it at -O0, which cuts the
# cost of parsing libtorch's headers with instrumentation (ASan + UBSan:
# 33 s of CPU against 60 s at -O2; TSan: 18 s against 27 s).
SHIM_OPT ?= $(if $(SAN),-O0,$(OPT))
CXXFLAGS_LIB := -std=c++17 $(SHIM_OPT) -g -fPIC -fvisibility=hidden -fopenmp -DEV_BUILDING_LIBRARY \
                -DEV_WITH_TORCH=1 -Iinclude -Ilib -I$(TORCH_INC) -Wall -Wextra -Wno-unused-parameter \
                $(SANFLAGS) $(CXXFLAGS)
# The shim's C++ files compile as one translation unit, $(SHIM_ALL) (a list
# of #include lines made from the wildcard): libtorch's headers cost 25-45 s
# of CPU per file, so parsing them once instead of 7 times saves about
# 3 minutes of CPU in each build that has the module (normal, ASan, TSan,
# fuzz). The files keep their own names (static, anonymous namespace) apart.
SHIM_CXX_SRCS := $(wildcard lib/extract/*.cpp)
SHIM_ALL := $(BUILD)/lib/extract/shim_all.cpp
MODULE_OBJS := $(SHIM_ALL:.cpp=.o) \
               $(patsubst %.c,$(BUILD)/%.o,$(MODULE_C_SRCS))
TORCH_LIBS := -ltorch -ltorch_cpu -lc10 -lz
else
MODULE :=
endif

HEADERS    := include/embedviz.h $(wildcard include/embedviz/*.h)

SONAME  := libembedviz.so.$(SOVERSION)
SHLIB   := $(BUILD)/libembedviz.so.$(LIBVERSION)
STLIB   := $(BUILD)/libembedviz.a

.PHONY: wheel all check check-programs check-c check-abi check-build check-example check-python bench demo deps install uninstall clean abi-baseline \
        check-asan check-tsan check-valgrind errors-table

all: $(SHLIB) $(BUILD)/$(SONAME) $(BUILD)/libembedviz.so $(STLIB) $(MODULE)

# Each object depends on the headers it includes, as the compiler lists them
# (-MMD -MP: build/x.d beside build/x.o; -MP keeps a removed header from
# breaking the build). An object without its .d is rebuilt once.
DEPFLAGS := -MMD -MP

$(BUILD)/%.o: %.c $(BUILD)/%.d
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_LIB) $(DEPFLAGS) -c $< -o $@

$(SHLIB): $(LIB_OBJS) lib/embedviz.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/embedviz.map \
	  -Wl,--no-undefined -Wl,--as-needed -Wl,-z,relro -Wl,-z,now $(SANFLAGS) -o $@ $(LIB_OBJS) $(DEP_LIBS) $(LDFLAGS)

$(BUILD)/$(SONAME): $(SHLIB)
	ln -sf $(notdir $(SHLIB)) $@
$(BUILD)/libembedviz.so: $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

$(STLIB): $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $(LIB_OBJS)

# ---- the libtorch backend module: rules (variables above) ----
# The loader has the install folder compiled in (for statically linked
# programs): rebuilt when BACKEND_DIR or WITH_TORCH change, e.g. by
# `make install PREFIX=...`.
$(BUILD)/lib/extract/loader.o: CFLAGS_LIB += -DEV_BACKEND_DIR='"$(BACKEND_DIR)"' -DEV_WITH_TORCH=$(WITH_TORCH)
$(BUILD)/lib/extract/loader.o: $(BUILD)/backend-flags
$(BUILD)/backend-flags: FORCE_BACKEND_FLAGS
	@mkdir -p $(dir $@)
	@echo '$(BACKEND_DIR) $(WITH_TORCH)' | cmp -s - $@ || echo '$(BACKEND_DIR) $(WITH_TORCH)' > $@
.PHONY: FORCE_BACKEND_FLAGS
ifeq ($(WITH_TORCH),1)
$(SHIM_ALL:.cpp=.o): $(SHIM_ALL) $(SHIM_ALL:.cpp=.d)
	$(CXX) $(CXXFLAGS_LIB) $(DEPFLAGS) -c $< -o $@
# Rewritten only when the list of files changes (-MMD follows their edits).
$(SHIM_ALL): FORCE_BACKEND_FLAGS
	@mkdir -p $(dir $@)
	@printf '#include "%s"\n' $(SHIM_CXX_SRCS:lib/%=%) | cmp -s - $@ || \
	  printf '#include "%s"\n' $(SHIM_CXX_SRCS:lib/%=%) > $@

# (TSan: clang leaves the sanitizer runtime to the program, so a shared
# object has undefined __tsan_* symbols: no --no-undefined there.)
$(MODULE): $(MODULE_OBJS) lib/extract/module/backend.map
	$(CXX) -shared -Wl,--version-script=lib/extract/module/backend.map \
	  $(if $(filter tsan,$(SAN)),,-Wl,--no-undefined) -Wl,--as-needed -Wl,-z,relro -Wl,-z,now $(SANFLAGS) -o $@ \
	  $(MODULE_OBJS) $(TORCH_LIBS) -fopenmp $(SAN_LIBS) $(LDFLAGS)
endif

# ---- pkg-config ----
# embedviz.pc: the shared library. embedviz-static.pc: the static archive
# by its file name, so that a static link stays static also where the
# shared library is installed beside it (-lembedviz would pick the .so).
# Both: the backend module is loaded at run time, never linked. Remade on
# every run: they carry PREFIX, LIBDIR and INCLUDEDIR, which each
# `make install PREFIX=...` may change.
$(BUILD)/embedviz.pc $(BUILD)/embedviz-static.pc: FORCE_BACKEND_FLAGS
$(BUILD)/embedviz.pc: pkgconfig/embedviz.pc.in Makefile
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(LIBVERSION)|' -e 's|@LIBS_PRIVATE@|$(DEP_LIBS)|' \
	    -e 's|@BACKEND_DIR@|$(BACKEND_DIR)|' $< > $@
$(BUILD)/embedviz-static.pc: pkgconfig/embedviz-static.pc.in Makefile
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(LIBVERSION)|' -e 's|@LIBS_PRIVATE@|$(DEP_LIBS)|' \
	    -e 's|@BACKEND_DIR@|$(BACKEND_DIR)|' $< > $@

install: all $(BUILD)/embedviz.pc $(BUILD)/embedviz-static.pc
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/embedviz $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 include/embedviz.h $(DESTDIR)$(INCLUDEDIR)/embedviz.h
	install -m 644 $(wildcard include/embedviz/*.h) $(DESTDIR)$(INCLUDEDIR)/embedviz/
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SHLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libembedviz.so
	install -m 644 $(STLIB) $(DESTDIR)$(LIBDIR)/
	install -m 644 $(BUILD)/embedviz.pc $(DESTDIR)$(PKGCONFIGDIR)/embedviz.pc
	install -m 644 $(BUILD)/embedviz-static.pc $(DESTDIR)$(PKGCONFIGDIR)/embedviz-static.pc
ifneq ($(MODULE),)
	install -d $(DESTDIR)$(BACKEND_DIR)
	install -m 755 $(MODULE) $(DESTDIR)$(BACKEND_DIR)/$(BACKEND_FILE)
endif
	@# Refresh the loader's cache so that programs (and `import embedviz`)
	@# find the new library by its soname; only for a real install by root.
	@if [ -z "$(DESTDIR)" ] && [ -w /etc/ld.so.cache ] && command -v ldconfig >/dev/null; then \
	  ldconfig; fi

# ---- Python wheel: the embedviz package with libembedviz.so.1 (and the
# extraction backend module, when built) inside it, found beside the package
# (bindings/python/embedviz/_lib.py). Offline: Debian's setuptools and wheel.
PYTHON ?= /usr/bin/python3
WHEEL_SRC := $(BUILD)/wheel-src
WHEEL_DIR ?= dist
wheel: $(BUILD)/$(SONAME) $(MODULE)
	rm -rf $(WHEEL_SRC) && mkdir -p $(WHEEL_SRC) $(WHEEL_DIR)
	cp -r bindings/python/pyproject.toml bindings/python/README.md bindings/python/embedviz $(WHEEL_SRC)/
	rm -rf $(WHEEL_SRC)/embedviz/__pycache__ $(WHEEL_SRC)/embedviz/libembedviz*
	sed -i 's/^__version__ = ".*"$$/__version__ = "$(LIBVERSION)"/' $(WHEEL_SRC)/embedviz/__init__.py
	cp -L $(BUILD)/$(SONAME) $(WHEEL_SRC)/embedviz/$(SONAME)
	if [ -f $(BUILD)/libembedviz-torch.so ]; then cp -L $(BUILD)/libembedviz-torch.so $(WHEEL_SRC)/embedviz/; fi
	cp bindings/python/wheel_setup.py $(WHEEL_SRC)/setup.py
	$(PYTHON) -m pip wheel --no-index --no-build-isolation --no-deps -w $(WHEEL_DIR) $(WHEEL_SRC)

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/embedviz.h
	rm -rf $(DESTDIR)$(INCLUDEDIR)/embedviz
	rm -f $(DESTDIR)$(LIBDIR)/libembedviz.so* $(DESTDIR)$(LIBDIR)/libembedviz.a
	rm -f $(DESTDIR)$(PKGCONFIGDIR)/embedviz.pc $(DESTDIR)$(PKGCONFIGDIR)/embedviz-static.pc
	rm -f $(DESTDIR)$(BACKEND_DIR)/$(BACKEND_FILE)
	rmdir $(DESTDIR)$(BACKEND_DIR) 2>/dev/null || true

# ---- dependencies (Debian packages listed in scripts/debian-packages.txt) ----
deps:
	@bash scripts/install-deps.sh

# ---- tests ----
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_CFLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -Iinclude -Ilib -Itests -fopenmp $(SANFLAGS) $(WARN) -Wno-missing-prototypes
TEST_LIBS := $(STLIB) $(DEP_LIBS) $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

$(BUILD)/tests/%: tests/%.c $(STLIB)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(DEPFLAGS) $< -o $@ $(TEST_LIBS)

$(LIB_OBJS:.o=.d) $(MODULE_OBJS:.o=.d): ;
-include $(LIB_OBJS:.o=.d) $(MODULE_OBJS:.o=.d) $(TEST_BINS:=.d)

# ---- tests and the backend module ----
# The test programs link libembedviz.a, whose loader looks for the module
# beside the program: $(BUILD)/tests/libembedviz-torch.so links to it.
# test_backend also gets fake modules (tests/backend_fake.c): one of another
# version, one that refuses this library, one without the entry point, and
# a file that is not a library.
ifeq ($(WITH_TORCH),1)
$(TEST_BINS): | $(BUILD)/tests/$(BACKEND_FILE)
$(BUILD)/tests/$(BACKEND_FILE): | $(MODULE)
	@mkdir -p $(dir $@)
	ln -sf ../$(BACKEND_FILE) $@
endif
# ASan: gcc 12's LeakSanitizer crashes at exit ("Tracer caught signal 11"
# while scanning a thread's dynamic TLS) in test_bad_inputs, which dlopen()s
# libtorch in its main process. So the ASan test programs that extract
# (their source names ev_model_* or ev_extract*) have the module (and
# libtorch) linked in at start, as the library did before the module
# existed; the loader's dlopen() then finds it already loaded. Only those:
# with libtorch mapped, LeakSanitizer scans its heap at the end of every
# forked test case, which made test_io 30 times slower (125 s against 3.9 s).
# test_backend, which tests the loading itself, still loads it on use.
ASAN_TORCH_TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,\
  $(shell grep -lE 'ev_(model|extract)' $(TEST_SRCS)))
ifeq ($(SAN)$(WITH_TORCH),asan1)
$(filter-out $(BUILD)/tests/test_backend,$(ASAN_TORCH_TESTS)): TEST_LIBS += -L$(BUILD) \
  -Wl,--no-as-needed -l:$(BACKEND_FILE) -Wl,--as-needed -Wl,-rpath,$(abspath $(BUILD))
endif
FAKE_BACKENDS := $(patsubst %,$(BUILD)/tests/backend-fake/%/$(BACKEND_FILE),version oldversion refuses noentry garbage needslib counts)
$(BUILD)/tests/test_backend: $(FAKE_BACKENDS)
$(BUILD)/tests/backend-fake/garbage/$(BACKEND_FILE):
	@mkdir -p $(dir $@)
	printf '%s\n' 'not a shared object, but long enough for the loader to read an ELF header from it' > $@
$(BUILD)/tests/backend-fake/%/$(BACKEND_FILE): tests/backend_fake.c lib/extract/backend.h
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -fPIC -shared -DFAKE_$* $< -o $@
# needslib needs stub/libev-fake-absent.so, which is not on the search path.
$(BUILD)/tests/backend-fake/needslib/$(BACKEND_FILE): tests/backend_fake.c lib/extract/backend.h
	@mkdir -p $(dir $@) $(dir $@)../stub
	$(CC) $(TEST_CFLAGS) -fPIC -shared -DFAKE_stub -Wl,-soname,libev-fake-absent.so $< -o $(dir $@)../stub/libev-fake-absent.so
	$(CC) $(TEST_CFLAGS) -fPIC -shared -DFAKE_needslib $< -o $@ -L$(dir $@)../stub -l:libev-fake-absent.so

check: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@bash tests/run-all.sh

# What the parts of make check share in the normal build, built once before
# tests/run-all.sh starts its two lanes (so that no two makes build a file).
check-programs: all $(TEST_BINS) $(BUILD)/embedviz

# check-c: one test program per core, the slowest first (run-c.sh).
check-c: all $(TEST_BINS)
	@EV_TEST_JOBS=$${EV_TEST_JOBS:-$(NPROC)} bash tests/run-c.sh $(TEST_BINS)

check-abi: all
	@bash tests/check-abi.sh $(SHLIB)

# Headers guarded and self-contained, typed setters, install-deps quiet.
check-build:
	@bash tests/check-build.sh

check-example: all
	@bash tests/check-example.sh

check-python: all $(BUILD)/embedviz
	@bash tests/check-python.sh

# ---- sanitizers, valgrind, the table of bad inputs (docs/sanitizers.md) ----
# check-asan: every C test under ASan + UBSan (build-asan; the Python tests
# are not, see docs/sanitizers.md). check-tsan: the tests that run threads
# under TSan (build-tsan, clang + libomp). check-valgrind: every C test of
# the normal build under memcheck.
ASAN_TEST_BINS := $(patsubst tests/%.c,build-asan/tests/%,$(TEST_SRCS))
TSAN_TESTS := $(wildcard tests/test_concurrency.c) tests/test_knn.c tests/test_score.c \
              tests/test_tsne.c tests/test_tsne_fft.c tests/test_tsne_transform.c tests/test_io.c
TSAN_TEST_BINS := $(patsubst tests/%.c,build-tsan/tests/%,$(TSAN_TESTS))

check-asan:
	@$(MAKE) --no-print-directory SAN=asan -j$(NPROC) all $(ASAN_TEST_BINS)
	@bash tests/sanitizers/run-asan.sh $(ASAN_TEST_BINS)

check-tsan:
	@$(MAKE) --no-print-directory SAN=tsan -j$(NPROC) $(TSAN_TEST_BINS)
	@bash tests/sanitizers/run-tsan.sh $(TSAN_TEST_BINS)

# Memcheck never loads libtorch: run-valgrind.sh points EMBEDVIZ_BACKEND_DIR
# at an empty folder (valgrind 3.19 stops with SIGILL in libhwy, which comes
# with libtorch, on some processors), so the extraction cases of every
# program print that they are skipped; ASan runs them. test_extract and
# test_extract_messages are left out: they are extraction only.
# test_tsne_stop is left out for time: its 1,000-iteration fits of up to
# 3,000 rows take many minutes under memcheck; test_tsne runs the same
# optimiser under memcheck, and ASan runs test_tsne_stop. VALGRIND_TESTS=...
# to choose.
VALGRIND_TESTS ?= $(filter-out $(BUILD)/tests/test_extract $(BUILD)/tests/test_extract_messages \
                    $(BUILD)/tests/test_tsne_stop,$(TEST_BINS))
check-valgrind: all $(VALGRIND_TESTS)
	@bash tests/sanitizers/run-valgrind.sh $(VALGRIND_TESTS)

# docs/errors.md from tests/test_bad_inputs.c (which checks it is current).
errors-table: all $(BUILD)/tests/test_bad_inputs
	$(BUILD)/tests/test_bad_inputs --markdown > docs/errors.md.new
	mv docs/errors.md.new docs/errors.md

abi-baseline: all
	abidw --no-corpus-path --headers-dir include --out-file abi/libembedviz.abi $(SHLIB)

# ---- benchmarks and the main job ----
bench: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@bash bench/run.sh

demo: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@bash scripts/demo.sh

clean:
	rm -rf build build-asan build-tsan build-fuzz build-notorch

# The embedviz command-line tool and the demo report (targets cli, check-cli).
include cli/cli.mk

# libFuzzer harnesses (fuzz-build, check-fuzz, fuzz-long, fuzz-NAME;
# docs/fuzzing.md).
include fuzz/fuzz.mk
