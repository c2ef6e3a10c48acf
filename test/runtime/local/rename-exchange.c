/*
 * Swaps two paths with renameat2(RENAME_EXCHANGE) in a loop until SIGTERM, then prints how
 * many swaps succeeded. The wipe race test uses it to flip a directory of the volume being
 * wiped with a symlink to a neighbouring volume while the wipe runs.
 *
 *   rename-exchange <path-a> <path-b>
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static volatile sig_atomic_t stop;

static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <path-a> <path-b>\n", argv[0]);
    return 2;
  }
  signal(SIGTERM, on_term);
  unsigned long swaps = 0;
  /* Between wipes one of the two is gone: wait a little instead of spinning on ENOENT. */
  const struct timespec pause = {0, 20000};
  while (!stop) {
    if (syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) == 0) {
      swaps++;
    } else {
      nanosleep(&pause, NULL);
    }
  }
  printf("%lu\n", swaps);
  return 0;
}
