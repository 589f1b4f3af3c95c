/*
 * C reference for the ping-pong between processes (bench/ipc/pingpong.ts):
 * two processes pass a turn back and forth, through a pipe pair (one byte
 * each way, blocking read and write) and through a word of shared memory
 * with futexes in the ways bench/ipc/pingpong.ts uses wait/notify:
 *
 *   - "futex, always sleeping": a side waits in FUTEX_WAIT every round; the
 *     other side writes the word and wakes it only once the sleeper count
 *     next to the word says it sleeps, so every round wakes a sleeper;
 *   - "futex, spin then sleep": up to 1,000 looks at the word before
 *     sleeping, and a wake only when the count says someone sleeps.
 *
 * Each case also counts the voluntary context switches of both processes'
 * threads (getrusage RUSAGE_THREAD), that is how many times they slept: a
 * round trip that wakes a sleeper on each side sleeps twice.
 *
 *   gcc -O2 -o pingpong pingpong.c && [PIN=same|split] ./pingpong [rounds]
 *
 * (rounds default 20000). PIN=same puts both processes on CPU 0, PIN=split
 * one on CPU 0 and one on CPU 1; unset, the scheduler places them, as it
 * does for bench/ipc/pingpong.ts.
 *
 * Prints JSON lines for bench/side.ts: {"group", "name", "ns_per_op",
 * "p99_ns"} and {"group", "name", "value", "unit"}. Linux only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GROUP "ping-pong between processes (round trip)"
#define WARMUP 1000

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "pingpong: %s: %s\n", what, strerror(errno));
  exit(1);
}

static long switches(void) {
  struct rusage u;
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_nvcsw;
}

/* The cell of bench/ipc: the word, then the count of its sleepers. */
struct cell {
  _Atomic uint32_t word;
  _Atomic uint32_t sleeping;
  _Atomic long child_switches;
};

#if defined(__x86_64__)
#define PAUSE() __builtin_ia32_pause()
#else
#define PAUSE() ((void)0)
#endif

static void fwait(struct cell *c, uint32_t expected, int spin) {
  for (int i = 0; i < spin; i++) {
    if (atomic_load(&c->word) != expected) return;
    PAUSE();
  }
  atomic_fetch_add(&c->sleeping, 1);
  while (atomic_load(&c->word) == expected) {
    syscall(SYS_futex, &c->word, FUTEX_WAIT, expected, NULL, NULL, 0);
  }
  atomic_fetch_sub(&c->sleeping, 1);
}

static void fset(struct cell *c, uint32_t value, int always) {
  /* Always sleeping: the peer is asleep before the word changes. */
  if (always) {
    /* Yield: the peer may need this CPU to get to sleep. */
    while (atomic_load(&c->sleeping) == 0) sched_yield();
  }
  atomic_store(&c->word, value);
  if (atomic_load(&c->sleeping) != 0) {
    syscall(SYS_futex, &c->word, FUTEX_WAKE, 1, NULL, NULL, 0);
  }
}

/* PIN=same puts both processes on CPU 0, PIN=split the parent on CPU 0
 * and the child on CPU 1; unset, the scheduler places them. */
static void pin(int child) {
  const char *how = getenv("PIN");
  if (!how) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(strcmp(how, "split") == 0 && child ? 1 : 0, &set);
  if (sched_setaffinity(0, sizeof set, &set)) die("sched_setaffinity");
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void report(const char *name, double *stamps, int rounds,
                   long switches_total, int baseline) {
  double *gaps = malloc(sizeof(double) * rounds);
  for (int i = 0; i < rounds; i++) gaps[i] = stamps[i + 1] - stamps[i];
  qsort(gaps, rounds, sizeof(double), cmp);
  printf("{\"group\": \"%s\", \"name\": \"%s\", \"ns_per_op\": %.1f, "
         "\"p99_ns\": %.1f%s}\n",
         GROUP, name, gaps[rounds / 2], gaps[rounds * 99 / 100],
         baseline ? ", \"baseline\": true" : "");
  printf("{\"group\": \"%s\", \"name\": \"%s: sleeps per round trip\", "
         "\"value\": %.2f, \"unit\": \"sleeps (both sides)\"}\n",
         GROUP, name, (double)switches_total / (rounds + WARMUP));
  free(gaps);
}

static void pipes(int rounds) {
  int there[2], back[2];
  if (pipe(there) || pipe(back)) die("pipe");
  int total = rounds + WARMUP;
  int report_fd[2];
  if (pipe(report_fd)) die("pipe");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  char byte = 1;
  pin(pid == 0);
  if (pid == 0) {
    long before = switches();
    for (int i = 0; i < total; i++) {
      if (read(there[0], &byte, 1) != 1) die("read");
      if (write(back[1], &byte, 1) != 1) die("write");
    }
    long n = switches() - before;
    if (write(report_fd[1], &n, sizeof n) != sizeof n) die("write");
    _exit(0);
  }
  double *stamps = malloc(sizeof(double) * (rounds + 1));
  long before = switches();
  for (int i = 0; i < total; i++) {
    if (write(there[1], &byte, 1) != 1) die("write");
    if (read(back[0], &byte, 1) != 1) die("read");
    if (i >= WARMUP - 1) stamps[i - WARMUP + 1] = now_ns();
  }
  long mine = switches() - before;
  long theirs = 0;
  if (read(report_fd[0], &theirs, sizeof theirs) != sizeof theirs) die("read");
  waitpid(pid, NULL, 0);
  report("C: pipe", stamps, rounds, mine + theirs, 0);
  free(stamps);
}

static void futexes(int rounds, int spin, int always, const char *name) {
  struct cell *c = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (c == MAP_FAILED) die("mmap");
  int total = rounds + WARMUP;
  pid_t pid = fork();
  if (pid < 0) die("fork");
  pin(pid == 0);
  if (pid == 0) {
    long before = switches();
    for (int i = 0; i < total; i++) {
      fwait(c, 2 * i, spin);
      fset(c, 2 * i + 2, always);
    }
    atomic_store(&c->child_switches, switches() - before);
    _exit(0);
  }
  double *stamps = malloc(sizeof(double) * (rounds + 1));
  long before = switches();
  for (int i = 0; i < total; i++) {
    fset(c, 2 * i + 1, always);
    fwait(c, 2 * i + 1, spin);
    if (i >= WARMUP - 1) stamps[i - WARMUP + 1] = now_ns();
  }
  long mine = switches() - before;
  waitpid(pid, NULL, 0);
  report(name, stamps, rounds, mine + atomic_load(&c->child_switches), 0);
  free(stamps);
  munmap(c, 4096);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 20000;
  if (rounds < 1) rounds = 1;
  setvbuf(stdout, NULL, _IOLBF, 0);
  pipes(rounds);
  futexes(rounds, 0, 1, "C: futex, always sleeping");
  futexes(rounds, 1000, 0, "C: futex, spin then sleep");
  return 0;
}
