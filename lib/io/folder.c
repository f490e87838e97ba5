/* Folders of images with one subfolder per class, labelled as MATLAB's
 * imageDatastore(..., 'LabelSource', 'foldernames') and torchvision's
 * ImageFolder do: classes are the subfolders' names sorted in byte order,
 * files sorted by name within each class. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/io_private.h"

typedef struct strlist {
  char **s;
  size_t n, cap;
} strlist;

void ev__free_strings(char **s, size_t n) {
  if (!s) return;
  for (size_t i = 0; i < n; i++) ev__free(s[i]);
  ev__free(s);
}

static ev_status push(strlist *l, char *s) {
  if (!s) return ev__nomem("a file name", 0);
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 64;
    char **ns = ev__realloc(l->s, cap * sizeof *ns);
    if (!ns) {
      ev__free(s);
      return ev__nomem("a list of files", cap * sizeof *ns);
    }
    l->s = ns;
    l->cap = cap;
  }
  l->s[l->n++] = s;
  return EV_OK;
}

static char *join(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  char *p = ev__malloc(a + b + 2);
  if (!p) return NULL;
  memcpy(p, dir, a);
  size_t k = a;
  if (a && dir[a - 1] != '/') p[k++] = '/';
  memcpy(p + k, name, b + 1);
  return p;
}

static int by_bytes(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_dir(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Names in dir, sorted: subfolders (want_dirs) or image files. */
static ev_status list_dir(const char *dir, int want_dirs, strlist *out) {
  DIR *d = opendir(dir);
  if (!d) {
    if (errno == ENOTDIR)
      return ev__fail(EV_ERR_NOT_FOUND,
                      "%s is not a folder: give the folder "
                      "that holds the images or their class subfolders",
                      dir);
    if (errno == ENOENT)
      return ev__fail(EV_ERR_NOT_FOUND, "%s: no such folder: check the path",
                      dir);
    return ev__fail(EV_ERR_IO, "%s: cannot open the folder: %s", dir,
                    strerror(errno));
  }
  ev_status st = EV_OK;
  struct dirent *e;
  while (st == EV_OK && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue; /* ., .. and hidden files */
    char *full = join(dir, e->d_name);
    if (!full) { st = ev__nomem("a path", strlen(dir) + 2); break; }
    int dir_entry = is_dir(full);
    ev__free(full);
    if (want_dirs ? dir_entry : (!dir_entry && ev__is_image_name(e->d_name)))
      st = push(out, ev__strdup(e->d_name));
  }
  closedir(d);
  if (st == EV_OK && out->n) qsort(out->s, out->n, sizeof *out->s, by_bytes);
  return st;
}

/* Append the sorted images of one class folder with label `label`. */
static ev_status add_class(const char *dir, int32_t label, strlist *paths,
                           int32_t **labels, size_t *cap_labels) {
  strlist files = {0};
  ev_status st = list_dir(dir, 0, &files);
  for (size_t i = 0; st == EV_OK && i < files.n; i++) {
    if (paths->n == *cap_labels) {
      size_t cap = *cap_labels ? 2 * *cap_labels : 64;
      int32_t *nl = ev__realloc(*labels, cap * sizeof *nl);
      if (!nl) { st = ev__nomem("labels", cap * sizeof *nl); break; }
      *labels = nl;
      *cap_labels = cap;
    }
    (*labels)[paths->n] = label;
    st = push(paths, join(dir, files.s[i]));
  }
  ev__free_strings(files.s, files.n);
  return st;
}

ev_status ev__scan_folder(const char *folder, char ***paths, int32_t **labels,
                          size_t *n, char ***classes, size_t *n_classes) {
  strlist subs = {0}, files = {0}, names = {0};
  int32_t *lab = NULL;
  size_t cap_lab = 0;
  ev_status st = list_dir(folder, 1, &subs);
  for (size_t i = 0; st == EV_OK && i < subs.n; i++) {
    char *dir = join(folder, subs.s[i]);
    if (!dir) {
      st = ev__nomem("a path", strlen(folder) + strlen(subs.s[i]) + 2);
      break;
    }
    size_t before = files.n;
    st = add_class(dir, (int32_t)names.n, &files, &lab, &cap_lab);
    ev__free(dir);
    if (st == EV_OK && files.n > before) /* a folder without images is no class */
      st = push(&names, ev__strdup(subs.s[i]));
  }
  if (st == EV_OK && files.n == 0) { /* no class folders: the images here */
    st = add_class(folder, -1, &files, &lab, &cap_lab);
    if (st == EV_OK && files.n == 0)
      st = ev__fail(EV_ERR_NOT_FOUND, "%s: no image files (.png, .jpg, .jpeg, "
                    ".bmp, .gif) in the folder or its class subfolders: check "
                    "the path", folder);
  }
  ev__free_strings(subs.s, subs.n);
  if (st) {
    ev__free_strings(files.s, files.n);
    ev__free_strings(names.s, names.n);
    ev__free(lab);
    return st;
  }
  *paths = files.s;
  *labels = lab;
  *n = files.n;
  *classes = names.s;
  *n_classes = names.n;
  return EV_OK;
}
