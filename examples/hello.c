/* The smallest libembedviz program: the library's version, and what a
 * failing call looks like (a status for the program, a message for people). */
#include <embedviz.h>
#include <stdio.h>

int main(void) {
  printf("libembedviz %s (header %s)\n", ev_version_string(), EV_VERSION_STRING);
  if (ev_version_number() / 10000 != EV_VERSION_MAJOR) {
    fprintf(stderr, "library major version differs from the header's\n");
    return 1;
  }
  return 0;
}
