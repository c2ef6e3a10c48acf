/*
 * One long-lived NFSv4 client session through libnfs, driven line by line on stdin, one
 * JSON line per command on stdout. Tests use it where one session must outlive something
 * (a grow, a server restart) and to write more than libnfs 4.0 can send at once: its NFSv4
 * WRITE fails to encode above about 3.9 KB, so writes go in 3.5 KiB chunks.
 *
 *   mount <server> <export>         mount (NFSv4) an export; everything below is relative to it
 *   create <slot> <path>            create a file (exclusive) and keep its handle in slot 0-15
 *   open <slot> <path>              open an existing file read-only into a slot
 *   write <slot> <offset> <bytes>   write a byte pattern (byte = offset & 0xff) until done or an error
 *   read <slot> <offset> <bytes>    read back and count bytes that differ from the pattern
 *   fstat <slot>                    GETATTR on the kept file handle (no path lookup)
 *   reconnect <server> <export>     a new connection and mount (libnfs 4.0 does not reconnect
 *                                   NFSv4 itself), keeping the file handles held in the slots,
 *                                   as a kernel client does after a server restart
 *   statvfs                         the export's size as the client sees it
 *
 * The server's NFS port is 2049, or NFS_PORT from the environment.
 *
 * Build: cc -O2 -o nfs-session nfs-session.c -lnfs  (libnfs-dev)
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-nfs4.h>

#define CHUNK 3584
#define SLOTS 16

static struct nfs_context *nfs;
static struct nfsfh *slots[SLOTS];

/* Prints the failure as JSON; libnfs messages may hold quotes, backslashes and newlines. */
static void fail_after(int rc, unsigned long long written) {
  printf("{\"ok\":false,\"written\":%llu,\"errno\":%d,\"error\":\"", written, rc);
  for (const char *c = rc < 0 ? nfs_get_error(nfs) : "short write"; c && *c; c++) putchar(*c == '"' || *c == '\\' || *c < ' ' ? '\'' : *c);
  printf("\"}\n");
}

static void fail(int rc) { fail_after(rc, 0); }

/* A context for NFSv4 at NFS_PORT if set: libnfs takes a port only as an option of a URL. */
static struct nfs_context *new_context(void) {
  struct nfs_context *c = nfs_init_context();
  if (!c) exit(2);
  nfs_set_version(c, NFS_V4);
  const char *port = getenv("NFS_PORT");
  if (port) {
    char url[64];
    snprintf(url, sizeof url, "nfs://127.0.0.1/?nfsport=%d", atoi(port));
    struct nfs_url *u = nfs_parse_url_incomplete(c, url);
    if (!u) exit(2);
    nfs_destroy_url(u);
  }
  return c;
}

static int slot_of(const char *s) {
  int i = atoi(s);
  return i >= 0 && i < SLOTS ? i : 0;
}

int main(void) {
  char line[4096], a[1024], b[1024];
  unsigned long long off, len;
  static char buf[CHUNK];
  nfs = new_context();
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (fgets(line, sizeof line, stdin)) {
    int rc = 0;
    if (sscanf(line, "mount %1023s %1023s", a, b) == 2) {
      if ((rc = nfs_mount(nfs, a, b)) < 0) fail(rc); else printf("{\"ok\":true}\n");
    } else if (sscanf(line, "reconnect %1023s %1023s", a, b) == 2) {
      /* The old context is left as it is: the slots' handles were made through it. */
      nfs = new_context();
      if ((rc = nfs_mount(nfs, a, b)) < 0) fail(rc); else printf("{\"ok\":true}\n");
    } else if (sscanf(line, "create %1023s %1023s", a, b) == 2) {
      int s = slot_of(a);
      if ((rc = nfs_create(nfs, b, O_RDWR, 0644, &slots[s])) < 0) fail(rc); else printf("{\"ok\":true}\n");
    } else if (sscanf(line, "open %1023s %1023s", a, b) == 2) {
      int s = slot_of(a);
      if ((rc = nfs_open(nfs, b, O_RDONLY, &slots[s])) < 0) fail(rc); else printf("{\"ok\":true}\n");
    } else if (sscanf(line, "write %1023s %llu %llu", a, &off, &len) == 3) {
      unsigned long long done = 0;
      while (done < len) {
        unsigned long long n = len - done < CHUNK ? len - done : CHUNK;
        for (unsigned long long i = 0; i < n; i++) buf[i] = (char)((off + done + i) & 0xff);
        rc = nfs_pwrite(nfs, slots[slot_of(a)], off + done, n, buf);
        if (rc <= 0) break;
        done += (unsigned long long)rc;
      }
      if (done < len) {
        fail_after(rc, done);
      } else {
        printf("{\"ok\":true,\"written\":%llu}\n", done);
      }
    } else if (sscanf(line, "read %1023s %llu %llu", a, &off, &len) == 3) {
      unsigned long long done = 0, differ = 0;
      while (done < len) {
        unsigned long long n = len - done < CHUNK ? len - done : CHUNK;
        rc = nfs_pread(nfs, slots[slot_of(a)], off + done, n, buf);
        if (rc <= 0) break;
        for (int i = 0; i < rc; i++) differ += buf[i] != (char)((off + done + i) & 0xff);
        done += (unsigned long long)rc;
      }
      if (rc < 0) fail(rc); else printf("{\"ok\":true,\"read\":%llu,\"differ\":%llu}\n", done, differ);
    } else if (sscanf(line, "fstat %1023s", a) == 1) {
      struct nfs_stat_64 st;
      if ((rc = nfs_fstat64(nfs, slots[slot_of(a)], &st)) < 0) fail(rc);
      else printf("{\"ok\":true,\"size\":%llu,\"ino\":%llu}\n", (unsigned long long)st.nfs_size, (unsigned long long)st.nfs_ino);
    } else if (strncmp(line, "statvfs", 7) == 0) {
      struct nfs_statvfs_64 sv;
      if ((rc = nfs_statvfs64(nfs, "/", &sv)) < 0) fail(rc);
      else printf("{\"ok\":true,\"blocks\":%llu,\"bavail\":%llu,\"frsize\":%llu,\"fsid\":\"%llu\"}\n", (unsigned long long)sv.f_blocks, (unsigned long long)sv.f_bavail, (unsigned long long)sv.f_frsize, (unsigned long long)sv.f_fsid);
    } else {
      printf("{\"ok\":false,\"error\":\"unknown command\"}\n");
    }
  }
  nfs_destroy_context(nfs);
  return 0;
}
