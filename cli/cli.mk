# cli/cli.mk - the embedviz command-line tool and the demo report.
# Included from the top-level Makefile (after BUILD, STLIB, DEP_LIBS, WARN,
# SANFLAGS are set):   include cli/cli.mk
#
#   make $(BUILD)/embedviz   the tool, linked statically against libembedviz.a
#   make cli                 the same
#   make check-cli           the tool's tests (tests/python/test_cli_*.py, with
#                            the headless Chromium test of a report)
#
# The tool is a client of the public header only: -Iinclude, never -Ilib.

CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(patsubst cli/%.c,$(BUILD)/cli/%.o,$(CLI_SRCS))
CLI_CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) -g -fopenmp -Iinclude $(WARN) $(SANFLAGS) $(CFLAGS)
# While capabilities land on other branches, a command is compiled in only
# when its room has code in lib/ (and, for extraction, libtorch is used);
# otherwise it says that this build lacks it.
CLI_CFLAGS += $(if $(wildcard lib/pca/*.c),-DEVC_HAVE_PCA=1)
CLI_CFLAGS += $(if $(wildcard lib/knn/*.c),-DEVC_HAVE_KNN=1)
CLI_CFLAGS += $(if $(wildcard lib/tsne/*.c),-DEVC_HAVE_TSNE=1)
CLI_CFLAGS += $(if $(wildcard lib/io/*.c),-DEVC_HAVE_IO=1)
CLI_CFLAGS += $(if $(and $(wildcard lib/extract/*.cpp),$(filter 1,$(WITH_TORCH))),-DEVC_HAVE_EXTRACT=1)

.PHONY: cli check-cli

cli: $(BUILD)/embedviz

# Rebuild when the flags change (a capability landing changes them).
$(BUILD)/cli/flags: FORCE_CLI_FLAGS
	@mkdir -p $(dir $@)
	@echo '$(CLI_CFLAGS)' | cmp -s - $@ || echo '$(CLI_CFLAGS)' > $@

.PHONY: FORCE_CLI_FLAGS

$(BUILD)/cli/%.o: cli/%.c cli/*.h $(HEADERS) $(BUILD)/cli/report_assets.h $(BUILD)/cli/flags
	@mkdir -p $(dir $@)
	$(CC) $(CLI_CFLAGS) -I$(BUILD)/cli -c $< -o $@

# The report's script and style, inlined into every index.html: each line
# becomes a C string line.
$(BUILD)/cli/report_assets.h: cli/report.js cli/report.css
	@mkdir -p $(dir $@)
	{ echo 'static const char REPORT_JS[] ='; sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' cli/report.js; echo ';'; \
	  echo 'static const char REPORT_CSS[] ='; sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' cli/report.css; echo ';'; } > $@

$(BUILD)/embedviz: $(CLI_OBJS) $(STLIB)
	$(CC) $(SANFLAGS) -fopenmp -o $@ $(CLI_OBJS) $(STLIB) $(DEP_LIBS) $(LDFLAGS)

# The error table (test_cli_error_table.py) runs the Python door too.
check-cli: $(BUILD)/embedviz $(BUILD)/$(SONAME)
	EMBEDVIZ_CLI=$(abspath $(BUILD)/embedviz) EMBEDVIZ_LIBRARY=$(abspath $(BUILD)/$(SONAME)) \
	PYTHONPATH=$(abspath bindings/python) $(PYTHON) -m pytest -q -p no:cacheprovider tests/python/test_cli_*.py
