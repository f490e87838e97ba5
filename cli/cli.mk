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
# The figures are drawn with cairo (Debian's libcairo2-dev): the tool links
# it, the library never does.
CAIRO_CFLAGS := $(shell pkg-config --cflags cairo 2>/dev/null)
CAIRO_LIBS := $(shell pkg-config --libs cairo 2>/dev/null || echo -lcairo)
CLI_CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) -g -fopenmp -Iinclude $(WARN) $(SANFLAGS) $(CFLAGS)
# Which capabilities the library has is decided at run time (extraction:
# ev_extract_available()), never by build flags: one tool for every build.

.PHONY: cli check-cli

cli: $(BUILD)/embedviz

# Rebuild when the flags change (OPT, SAN, CFLAGS).
$(BUILD)/cli/flags: FORCE_CLI_FLAGS
	@mkdir -p $(dir $@)
	@echo '$(CLI_CFLAGS)' | cmp -s - $@ || echo '$(CLI_CFLAGS)' > $@

.PHONY: FORCE_CLI_FLAGS

# Each object depends on the headers it includes, as the compiler lists them
# ($(DEPFLAGS), -MMD -MP, as the library's objects: build/cli/x.d beside
# build/cli/x.o); an object without its .d is rebuilt once. The generated
# report_assets.h must exist before the first compile lists it.
$(BUILD)/cli/%.o: cli/%.c $(BUILD)/cli/%.d $(BUILD)/cli/flags | $(BUILD)/cli/report_assets.h
	@mkdir -p $(dir $@)
	$(CC) $(CLI_CFLAGS) $(CAIRO_CFLAGS) $(DEPFLAGS) -I$(BUILD)/cli -c $< -o $@

$(CLI_OBJS:.o=.d): ;
-include $(CLI_OBJS:.o=.d)

# The report's script and style, inlined into every index.html: each line
# becomes a C string line.
$(BUILD)/cli/report_assets.h: cli/report.js cli/report.css
	@mkdir -p $(dir $@)
	{ echo 'static const char REPORT_JS[] ='; sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' cli/report.js; echo ';'; \
	  echo 'static const char REPORT_CSS[] ='; sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' cli/report.css; echo ';'; } > $@

$(BUILD)/embedviz: $(CLI_OBJS) $(STLIB)
	$(CC) $(SANFLAGS) -fopenmp -o $@ $(CLI_OBJS) $(STLIB) $(DEP_LIBS) $(CAIRO_LIBS) $(LDFLAGS)

# The error table (test_cli_error_table.py) runs the Python door too.
check-cli: $(BUILD)/embedviz $(BUILD)/$(SONAME)
	EMBEDVIZ_CLI=$(abspath $(BUILD)/embedviz) EMBEDVIZ_LIBRARY=$(abspath $(BUILD)/$(SONAME)) \
	PYTHONPATH=$(abspath bindings/python) $(PYTHON) -m pytest -q -p no:cacheprovider tests/python/test_cli_*.py
