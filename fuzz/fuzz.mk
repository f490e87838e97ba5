# fuzz/fuzz.mk - libFuzzer harnesses for every reader of outside data and
# every numeric entry point (docs/fuzzing.md).
#
#   make fuzz-build   build every harness
#   make -j2 check-fuzz   short run of each (CI)
#   make fuzz-long FUZZ_SECONDS=600
#   make fuzz-npy     one harness (fuzz-<name>)
#
# The library's sources are compiled again with clang, libFuzzer's coverage
# instrumentation, AddressSanitizer and UndefinedBehaviorSanitizer into
# build-fuzz/ (never mixed with build/). Only fuzz_model links libtorch.

FUZZ_CC      ?= clang
FUZZ_CXX     ?= clang++
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 600
# check-fuzz: seconds per harness (9 mutate; fuzz_model is left to the
# longer runs, below): about a minute of CPU; the seeded sequence makes
# longer local runs vouch for it.
FUZZ_CHECK_SECONDS ?= 6
# check-fuzz mutates from a fixed seed and an empty scratch corpus
# (build-fuzz/corpus-seeded, emptied first), so a run explores a prefix of
# the same sequence of inputs on every machine (a slower machine a shorter
# prefix): what CI finds, `make check-fuzz` finds here too, and a clean
# longer local run with this seed (fuzz-seeded) vouches for CI's shorter
# ones. fuzz-long draws a new seed each time to find new bugs.
FUZZ_CHECK_SEED ?= 1
FUZZ_TARGETS := npy idx image labels cli_read model pca knn tsne score

FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
              -fno-omit-frame-pointer -g -O1
FUZZ_COV   := -fsanitize=fuzzer-no-link
# clang's OpenMP in GNU's runtime, the one OpenBLAS and libtorch use.
FUZZ_OMP   := -fopenmp=libgomp
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -DEV_BUILDING_LIBRARY -Iinclude -Ilib \
               $(FUZZ_SAN) $(FUZZ_COV) $(FUZZ_OMP) -Wall -Wno-unused-parameter
FUZZ_CXXFLAGS := -std=c++17 -DEV_BUILDING_LIBRARY -DEV_WITH_TORCH=1 -Iinclude \
               -Ilib -I/usr/include/torch/csrc/api/include $(FUZZ_SAN) \
               $(FUZZ_COV) $(FUZZ_OMP) -Wno-unused-parameter
FUZZ_LIBS  := -lopenblas -llapacke -larpack -lfftw3f -lz -lm -ldl -lgomp -lpthread
FUZZ_TORCH_LIBS := -ltorch -ltorch_cpu -lc10

FUZZ_LIB_C   := $(wildcard lib/*/*.c)
FUZZ_LIB_CXX := $(wildcard lib/extract/*.cpp)
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(FUZZ_LIB_C))
# the C objects without the no-libtorch stubs, for fuzz_model
FUZZ_TORCH_OBJS := $(filter-out $(FUZZ_BUILD)/lib/extract/extract_none.o,$(FUZZ_LIB_OBJS)) \
                   $(FUZZ_BUILD)/lib/extract/shim_all.o
FUZZ_CLI_OBJS := $(FUZZ_BUILD)/cli/npy.o $(FUZZ_BUILD)/cli/util.o $(FUZZ_BUILD)/cli/outfile.o
FUZZ_BINS := $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_TARGETS))
FUZZ_HDRS := $(wildcard include/*.h include/embedviz/*.h lib/*/*.h)
FUZZ_ENV  := ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
             UBSAN_OPTIONS=print_stacktrace=1 OMP_NUM_THREADS=1 \
             OPENBLAS_NUM_THREADS=1

.PHONY: fuzz-build check-fuzz fuzz-long fuzz-seeded $(patsubst %,fuzz-%,$(FUZZ_TARGETS))
# (check-fuzz-NAME and fuzz-long-NAME are pattern rules, which make does
# not search for .PHONY targets: they stay off that list.)

fuzz-build: $(FUZZ_BINS)

$(FUZZ_BUILD)/lib/%.o: lib/%.c $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/lib/%.o: lib/%.cpp $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -c $< -o $@

# The shim as one translation unit, as in the Makefile (SHIM_ALL).
$(FUZZ_BUILD)/lib/extract/shim_all.cpp: FORCE_BACKEND_FLAGS
	@mkdir -p $(dir $@)
	@printf '#include "%s"\n' $(FUZZ_LIB_CXX:lib/%=%) | cmp -s - $@ || \
	  printf '#include "%s"\n' $(FUZZ_LIB_CXX:lib/%=%) > $@
$(FUZZ_BUILD)/lib/extract/shim_all.o: $(FUZZ_BUILD)/lib/extract/shim_all.cpp $(FUZZ_LIB_CXX) $(FUZZ_HDRS)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -c $< -o $@

$(FUZZ_BUILD)/cli/%.o: cli/%.c cli/cli.h $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Icli -c $< -o $@

$(FUZZ_BUILD)/libembedviz-fuzz.a: $(FUZZ_LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_model: fuzz/fuzz_model.c fuzz/fuzz_common.h $(FUZZ_TORCH_OBJS)
	$(FUZZ_CXX) -x c++ $(FUZZ_CXXFLAGS) -fsanitize=fuzzer $< -x none \
	  $(FUZZ_TORCH_OBJS) $(FUZZ_TORCH_LIBS) $(FUZZ_LIBS) -o $@

$(FUZZ_BUILD)/fuzz_cli_read: fuzz/fuzz_cli_read.c fuzz/fuzz_common.h $(FUZZ_CLI_OBJS) $(FUZZ_BUILD)/libembedviz-fuzz.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Icli -fsanitize=fuzzer $< $(FUZZ_CLI_OBJS) \
	  $(FUZZ_BUILD)/libembedviz-fuzz.a $(FUZZ_LIBS) -o $@

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_common.h $(FUZZ_BUILD)/libembedviz-fuzz.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< \
	  $(FUZZ_BUILD)/libembedviz-fuzz.a $(FUZZ_LIBS) -o $@

# One run of harness $(1) for $(2) seconds over its committed corpus (read
# only: new inputs go to $(FUZZ_BUILD)/corpus/NAME), with its dictionary
# when there is one and its own options FUZZ_OPTS_NAME, then $(3). Any
# crash, leak, timeout, out-of-memory or sanitizer report fails.
fuzz_run = mkdir -p $(FUZZ_BUILD)/$(or $(4),corpus)/$(1) $(FUZZ_BUILD)/artifacts/$(1) && \
  $(FUZZ_ENV) nice $(FUZZ_BUILD)/fuzz_$(1) -max_total_time=$(2) -timeout=20 \
    -rss_limit_mb=2560 -max_len=65536 -print_final_stats=1 $(FUZZ_OPTS_$(1)) $(3) \
    $(if $(wildcard fuzz/dict/$(1).dict),-dict=fuzz/dict/$(1).dict) \
    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$(1)/ \
    $(FUZZ_BUILD)/$(or $(4),corpus)/$(1) fuzz/corpus/$(1)

# libtorch's unpickler allocates what a corrupt pickle's length field asks
# (12 GB seen from a 5 KB file; docs/fuzzing.md): fuzz_model lets such
# requests through to the allocator. Images up to PIL's 179 Mpixel limit
# decode in a few GB.
FUZZ_OPTS_model := -malloc_limit_mb=32768 -rss_limit_mb=6144
FUZZ_OPTS_image := -malloc_limit_mb=6144 -rss_limit_mb=6144

# A short run of fuzz_model (check-fuzz-model) replays its corpus without
# mutating it: mutated pickles make libtorch ask for gigabytes
# (docs/fuzzing.md), which would make a short run fail at random on a
# libtorch limitation. fuzz-long mutates it.
FUZZ_CHECK_OPTS_model := -runs=0

# fuzz_model's corpus is replayed by test_fuzz's model_corpus_replays
# (natively and under ASan + UBSan) instead: check-fuzz never mutated it,
# and building the libtorch shim with clang for the replay cost about 35 s
# of CPU. fuzz-long and fuzz-seeded still run fuzz_model.
FUZZ_CHECK_TARGETS := $(filter-out model,$(FUZZ_TARGETS))
check-fuzz: $(patsubst %,check-fuzz-%,$(FUZZ_CHECK_TARGETS))
	@echo "check-fuzz: every harness ran clean (fuzz_model's corpus is replayed by test_fuzz)"

fuzz-long: $(patsubst %,fuzz-long-%,$(FUZZ_TARGETS))

# fuzz_run_logged(name, seconds, options, log name[, scratch corpus folder])
fuzz_run_logged = echo "== fuzz_$(1) ($(2) s)"; \
  $(if $(5),rm -rf $(FUZZ_BUILD)/$(5)/$(1);) \
  $(call fuzz_run,$(1),$(2),$(3),$(5)) > $(FUZZ_BUILD)/$(4)-$(1).log 2>&1 || \
    { tail -n 60 $(FUZZ_BUILD)/$(4)-$(1).log; \
      echo "fuzz_$(1) FAILED (log: $(FUZZ_BUILD)/$(4)-$(1).log)"; exit 1; }; \
  grep -E '^stat::number_of_executed_units|DONE' $(FUZZ_BUILD)/$(4)-$(1).log | tail -n 2

check-fuzz-%: $(FUZZ_BUILD)/fuzz_%
	@$(call fuzz_run_logged,$*,$(FUZZ_CHECK_SECONDS),-seed=$(FUZZ_CHECK_SEED) $(FUZZ_CHECK_OPTS_$*),check,corpus-seeded)

# The check-fuzz sequence run longer (FUZZ_SECONDS each): before a release,
# proves CI's short runs clean on this machine.
fuzz-seeded: $(patsubst %,fuzz-seeded-%,$(FUZZ_TARGETS))
fuzz-seeded-%: $(FUZZ_BUILD)/fuzz_%
	@$(call fuzz_run_logged,$*,$(FUZZ_SECONDS),-seed=$(FUZZ_CHECK_SEED) $(FUZZ_CHECK_OPTS_$*),seeded,corpus-seeded)

fuzz-long-%: $(FUZZ_BUILD)/fuzz_%
	@$(call fuzz_run_logged,$*,$(FUZZ_SECONDS),,long)

$(patsubst %,fuzz-%,$(FUZZ_TARGETS)): fuzz-%: $(FUZZ_BUILD)/fuzz_%
	$(call fuzz_run,$*,$(FUZZ_SECONDS))
