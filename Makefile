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
DEP_LIBS := -lopenblas -llapacke -lz -lm -fopenmp $(SAN_LIBS)

# libtorch: detected unless WITH_TORCH is given.
TORCH_INC := /usr/include/torch/csrc/api/include
ifeq ($(origin WITH_TORCH),undefined)
WITH_TORCH := $(if $(wildcard $(TORCH_INC)/torch/torch.h),1,0)
endif
ifeq ($(WITH_TORCH),1)
CXXFLAGS_LIB := -std=c++17 $(OPT) -g -fPIC -fvisibility=hidden -fopenmp -DEV_BUILDING_LIBRARY \
                -DEV_WITH_TORCH=1 -Iinclude -Ilib -I$(TORCH_INC) -Wall -Wextra -Wno-unused-parameter \
                $(SANFLAGS) $(CXXFLAGS)
LIB_CXX_SRCS := $(wildcard lib/*/*.cpp)
DEP_LIBS += -ltorch -ltorch_cpu -lc10 -lstdc++
CFLAGS_LIB += -DEV_WITH_TORCH=1
else
LIB_CXX_SRCS :=
endif

LIB_C_SRCS := $(wildcard lib/*/*.c)
LIB_OBJS   := $(patsubst %.c,$(BUILD)/%.o,$(LIB_C_SRCS)) $(patsubst %.cpp,$(BUILD)/%.o,$(LIB_CXX_SRCS))
HEADERS    := include/embedviz.h $(wildcard include/embedviz/*.h)

SONAME  := libembedviz.so.$(SOVERSION)
SHLIB   := $(BUILD)/libembedviz.so.$(LIBVERSION)
STLIB   := $(BUILD)/libembedviz.a

.PHONY: wheel all check check-c check-abi check-build check-example check-python bench demo deps install uninstall clean abi-baseline \
        check-asan check-tsan check-valgrind errors-table

all: $(SHLIB) $(BUILD)/$(SONAME) $(BUILD)/libembedviz.so $(STLIB)

# Each object depends on the headers it includes, as the compiler lists them
# (-MMD -MP: build/x.d beside build/x.o; -MP keeps a removed header from
# breaking the build). An object without its .d is rebuilt once.
DEPFLAGS := -MMD -MP

$(BUILD)/%.o: %.c $(BUILD)/%.d
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_LIB) $(DEPFLAGS) -c $< -o $@

$(BUILD)/%.o: %.cpp $(BUILD)/%.d
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_LIB) $(DEPFLAGS) -c $< -o $@

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

# ---- pkg-config ----
$(BUILD)/embedviz.pc: pkgconfig/embedviz.pc.in Makefile
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(LIBVERSION)|' -e 's|@LIBS_PRIVATE@|$(DEP_LIBS)|' $< > $@

install: all $(BUILD)/embedviz.pc
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/embedviz $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 include/embedviz.h $(DESTDIR)$(INCLUDEDIR)/embedviz.h
	install -m 644 $(wildcard include/embedviz/*.h) $(DESTDIR)$(INCLUDEDIR)/embedviz/
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SHLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libembedviz.so
	install -m 644 $(STLIB) $(DESTDIR)$(LIBDIR)/
	install -m 644 $(BUILD)/embedviz.pc $(DESTDIR)$(PKGCONFIGDIR)/embedviz.pc
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
wheel: $(BUILD)/$(SONAME)
	rm -rf $(WHEEL_SRC) && mkdir -p $(WHEEL_SRC) $(WHEEL_DIR)
	cp -r bindings/python/pyproject.toml bindings/python/README.md bindings/python/embedviz $(WHEEL_SRC)/
	rm -rf $(WHEEL_SRC)/embedviz/__pycache__ $(WHEEL_SRC)/embedviz/libembedviz*
	cp -L $(BUILD)/$(SONAME) $(WHEEL_SRC)/embedviz/$(SONAME)
	if [ -f $(BUILD)/libembedviz-torch.so ]; then cp -L $(BUILD)/libembedviz-torch.so $(WHEEL_SRC)/embedviz/; fi
	cp bindings/python/wheel_setup.py $(WHEEL_SRC)/setup.py
	$(PYTHON) -m pip wheel --no-index --no-build-isolation --no-deps -w $(WHEEL_DIR) $(WHEEL_SRC)

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/embedviz.h
	rm -rf $(DESTDIR)$(INCLUDEDIR)/embedviz
	rm -f $(DESTDIR)$(LIBDIR)/libembedviz.so* $(DESTDIR)$(LIBDIR)/libembedviz.a
	rm -f $(DESTDIR)$(PKGCONFIGDIR)/embedviz.pc

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

$(LIB_OBJS:.o=.d): ;
-include $(LIB_OBJS:.o=.d) $(TEST_BINS:=.d)

check: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@bash tests/run-all.sh

check-c: all $(TEST_BINS)
	@bash tests/run-c.sh $(TEST_BINS)

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
              tests/test_tsne.c tests/test_io.c
TSAN_TEST_BINS := $(patsubst tests/%.c,build-tsan/tests/%,$(TSAN_TESTS))

check-asan:
	@$(MAKE) --no-print-directory SAN=asan -j$(NPROC) all $(ASAN_TEST_BINS)
	@bash tests/sanitizers/run-asan.sh $(ASAN_TEST_BINS)

check-tsan:
	@$(MAKE) --no-print-directory SAN=tsan -j$(NPROC) $(TSAN_TEST_BINS)
	@bash tests/sanitizers/run-tsan.sh $(TSAN_TEST_BINS)

# test_extract is left out: ResNet-18 through libtorch under memcheck takes
# minutes and memcheck's floating point rounds some activations 1e-5 away
# from torch's; test_bad_inputs still runs the extraction shim (load,
# prepare, run, every error path) under memcheck. test_extract_messages
# (libtorch's refusals of odd models) is left out for the same reason.
# VALGRIND_TESTS=... to choose.
VALGRIND_TESTS ?= $(filter-out $(BUILD)/tests/test_extract $(BUILD)/tests/test_extract_messages,$(TEST_BINS))
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
