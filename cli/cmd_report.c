/* cmd_report.c - embedviz report: the whole pipeline. */
#include "cli.h"
int evc_cmd_report(int argc, char **argv) { return evc_err("report: not yet"); }
