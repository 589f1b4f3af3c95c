/*
 * C-level reference for the write benchmarks: 256 MiB written in 65,000-byte
 * chunks and flushed to the disk, through write(2) and through a shared
 * mapping (memcpy + msync), into a new file (fresh pages) and over a file
 * already in the page cache. Copy and flush are timed separately.
 *
 *   gcc -O2 -o write_256 write_256.c && ./write_256 DIR [runs]
 *
 * Prints one JSON object per line: {"case", "run", "copy_ms", "flush_ms"}.
 * scripts/bench_report.ts builds and runs it; Linux only (fallocate,
 * MAP_POPULATE, MADV_POPULATE_WRITE).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define SIZE (256L << 20)
#define CHUNK 65000L

static unsigned char chunk[CHUNK];

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void die(const char *what) {
  fprintf(stderr, "write_256: %s: %s\n", what, strerror(errno));
  exit(1);
}

enum prep { PLAIN, POPULATE, FALLOCATE, FALLOCATE_POPULATE, POPULATE_WRITE };

/* write(2) in chunks, then fsync. */
static void by_write(const char *path, int fresh, double *copy, double *flush) {
  double t0 = now_ms();
  int fd = open(path, O_WRONLY | O_CREAT | (fresh ? O_TRUNC : 0), 0644);
  if (fd < 0) die("open");
  for (long at = 0; at < SIZE; at += CHUNK) {
    long n = SIZE - at < CHUNK ? SIZE - at : CHUNK;
    if (pwrite(fd, chunk, n, at) != n) die("pwrite");
  }
  double t1 = now_ms();
  if (fsync(fd) != 0) die("fsync");
  close(fd);
  double t2 = now_ms();
  *copy = t1 - t0;
  *flush = t2 - t1;
}

/*
 * Creates a file in 16 MiB writes, as the benchmarks' data files are made.
 * On a filesystem with large folios (ext4 since Linux 6.16), the size of the
 * writes that filled the page cache decides the folio size, and with it how
 * many write faults a later rewrite through a mapping takes.
 */
static void create_in_large_writes(const char *path) {
  static unsigned char block[16 << 20];
  for (long i = 0; i < (long)sizeof block; i++) block[i] = chunk[i % CHUNK];
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("open");
  for (long at = 0; at < SIZE; at += sizeof block) {
    if (pwrite(fd, block, sizeof block, at) != (long)sizeof block) {
      die("pwrite");
    }
  }
  if (fsync(fd) != 0) die("fsync");
  close(fd);
}

/* ftruncate (or fallocate), mmap, memcpy in chunks, msync(MS_SYNC). */
static void by_mmap(const char *path, enum prep prep, double *copy,
                    double *flush) {
  double t0 = now_ms();
  int fd = open(path, O_RDWR | O_CREAT, 0644);
  if (fd < 0) die("open");
  if (prep == FALLOCATE || prep == FALLOCATE_POPULATE) {
    if (fallocate(fd, 0, 0, SIZE) != 0) die("fallocate");
  } else if (ftruncate(fd, SIZE) != 0) {
    die("ftruncate");
  }
  int flags = MAP_SHARED;
  if (prep == POPULATE || prep == FALLOCATE_POPULATE) flags |= MAP_POPULATE;
  unsigned char *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, flags, fd, 0);
  if (m == MAP_FAILED) die("mmap");
  if (prep == POPULATE_WRITE && madvise(m, SIZE, MADV_POPULATE_WRITE) != 0) {
    die("madvise(MADV_POPULATE_WRITE)");
  }
  for (long at = 0; at < SIZE; at += CHUNK) {
    long n = SIZE - at < CHUNK ? SIZE - at : CHUNK;
    memcpy(m + at, chunk, n);
  }
  double t1 = now_ms();
  if (msync(m, SIZE, MS_SYNC) != 0) die("msync");
  munmap(m, SIZE);
  close(fd);
  double t2 = now_ms();
  *copy = t1 - t0;
  *flush = t2 - t1;
}

/*
 * Rewrite through a mapping that stays open (as the rewrite bench does);
 * with `prefault`, MADV_POPULATE_WRITE (Linux 5.14) first makes every page
 * writable in one call instead of one write fault per page during the copy.
 */
static void rewrite_mapped(unsigned char *m, int prefault, double *copy,
                           double *flush) {
  double t0 = now_ms();
  if (prefault && madvise(m, SIZE, MADV_POPULATE_WRITE) != 0) {
    die("madvise(MADV_POPULATE_WRITE)");
  }
  for (long at = 0; at < SIZE; at += CHUNK) {
    long n = SIZE - at < CHUNK ? SIZE - at : CHUNK;
    memcpy(m + at, chunk, n);
  }
  double t1 = now_ms();
  if (msync(m, SIZE, MS_SYNC) != 0) die("msync");
  double t2 = now_ms();
  *copy = t1 - t0;
  *flush = t2 - t1;
}

static void report(const char *name, int run, double copy, double flush) {
  printf("{\"case\":\"%s\",\"run\":%d,\"copy_ms\":%.2f,\"flush_ms\":%.2f}\n",
         name, run, copy, flush);
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: write_256 DIR [runs]\n");
    return 2;
  }
  int runs = argc > 2 ? atoi(argv[2]) : 5;
  char fresh[4096], cached[4096], small[4096];
  snprintf(fresh, sizeof fresh, "%s/c_fresh.bin", argv[1]);
  snprintf(cached, sizeof cached, "%s/c_rewrite.bin", argv[1]);
  snprintf(small, sizeof small, "%s/c_rewrite_small.bin", argv[1]);
  unsigned int x = 7;
  for (long i = 0; i < CHUNK; i++) {
    x = x * 1103515245u + 12345u;
    chunk[i] = x >> 24;
  }
  static const struct {
    const char *name;
    int mmap;
    enum prep prep;
  } cases[] = {
      {"new file: write() + fsync", 0, PLAIN},
      {"new file: ftruncate + mmap + memcpy + msync", 1, PLAIN},
      {"new file: ftruncate + mmap(MAP_POPULATE) + memcpy + msync", 1,
       POPULATE},
      {"new file: fallocate + mmap + memcpy + msync", 1, FALLOCATE},
      {"new file: fallocate + mmap(MAP_POPULATE) + memcpy + msync", 1,
       FALLOCATE_POPULATE},
      {"new file: ftruncate + mmap + MADV_POPULATE_WRITE + memcpy + msync", 1,
       POPULATE_WRITE},
  };
  double copy, flush;
  /*
   * The rewrite files, kept in the page cache and mapped: one created in
   * 16 MiB writes (like bench/.data), one in 65,000-byte writes.
   */
  create_in_large_writes(cached);
  by_write(small, 1, &copy, &flush);
  int fd = open(cached, O_RDWR), fd_small = open(small, O_RDWR);
  if (fd < 0 || fd_small < 0) die("open");
  unsigned char *m =
      mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  unsigned char *m_small = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
                                MAP_SHARED | MAP_POPULATE, fd_small, 0);
  if (m == MAP_FAILED || m_small == MAP_FAILED) die("mmap");
  for (int run = 0; run < runs; run++) {
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
      unlink(fresh); /* not timed */
      if (cases[c].mmap) {
        by_mmap(fresh, cases[c].prep, &copy, &flush);
      } else {
        by_write(fresh, 1, &copy, &flush);
      }
      report(cases[c].name, run, copy, flush);
    }
    by_write(cached, 0, &copy, &flush);
    report("page cache: pwrite() + fsync", run, copy, flush);
    rewrite_mapped(m, 0, &copy, &flush);
    report("page cache (file made in 16 MiB writes): memcpy into open mapping "
           "+ msync",
           run, copy, flush);
    rewrite_mapped(m_small, 0, &copy, &flush);
    report("page cache (file made in 65,000-byte writes): memcpy into open "
           "mapping + msync",
           run, copy, flush);
    rewrite_mapped(m_small, 1, &copy, &flush);
    report("page cache (file made in 65,000-byte writes): MADV_POPULATE_WRITE "
           "+ memcpy + msync",
           run, copy, flush);
  }
  unlink(fresh);
  munmap(m, SIZE);
  munmap(m_small, SIZE);
  close(fd);
  close(fd_small);
  unlink(cached);
  unlink(small);
  return 0;
}
