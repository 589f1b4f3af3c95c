/*
 * C-level reference for the gather groups (bench/gather_bench.ts): records
 * of LEN bytes at COUNT random row offsets (row x LEN) of a file mapped
 * read-only and populated, copied with memcpy into one destination, in a
 * plain loop (no prefetch: what a C programmer would write).
 *
 *   gcc -O2 -o gather gather.c && ./gather FILE [runs] [count]
 *
 * Prints one JSON line per group: {"group", "name", "ns_per_op"}, the
 * median over the runs of the time per record, for 64 B x COUNT and 4 KiB x
 * COUNT/16 records (COUNT 1,048,576 by default, as the bench groups).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* mulberry32, as bench/_common.ts `random`. */
static uint32_t state;
static double next(void) {
  uint32_t t = (state += 0x6d2b79f5u);
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return ((t ^ (t >> 14)) >> 0) / 4294967296.0;
}

static void group(const unsigned char *base, size_t size, size_t len,
                  size_t count, int runs, const char *label) {
  size_t rows = size / len;
  size_t *offsets = malloc(count * sizeof *offsets);
  unsigned char *dst = malloc(count * len);
  double *times = malloc(runs * sizeof *times);
  if (!offsets || !dst || !times) {
    printf("{\"skip\": \"out of memory\"}\n");
    exit(0);
  }
  state = 7;
  for (size_t i = 0; i < count; i++) offsets[i] = (size_t)(next() * rows) * len;
  memset(dst, 1, count * len);
  unsigned sum = 0;
  for (int r = -2; r < runs; r++) {
    double t0 = now_ns();
    for (size_t i = 0; i < count; i++) memcpy(dst + i * len, base + offsets[i], len);
    double t = now_ns() - t0;
    sum += dst[(size_t)r % count * len];
    if (r >= 0) times[r] = t / count;
  }
  qsort(times, runs, sizeof *times, cmp);
  printf("{\"group\": \"gather %s records\", \"name\": \"C loop of memcpy (mmap)\", "
         "\"ns_per_op\": %.2f}\n", label, times[runs / 2]);
  /* The bytes, so that a caller can check them: FNV-1a of dst. */
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < count * len; i++) h = (h ^ dst[i]) * 16777619u;
  fprintf(stderr, "%s checksum %u fnv %u\n", label, sum, h);
  free(offsets);
  free(dst);
  free(times);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: gather FILE [runs]\n");
    return 2;
  }
  int runs = argc > 2 ? atoi(argv[2]) : 9;
  if (runs < 1) runs = 1;
  long count = argc > 3 ? atol(argv[3]) : 1L << 20;
  if (count < 16) count = 16;
  int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < 8192) {
    printf("{\"skip\": \"no data file %s\"}\n", argv[1]);
    return 0;
  }
  size_t size = st.st_size;
  unsigned char *base = mmap(NULL, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (base == MAP_FAILED) {
    printf("{\"skip\": \"mmap failed\"}\n");
    return 0;
  }
  group(base, size, 64, count, runs, "64 B");
  group(base, size, 4096, count / 16, runs, "4 KiB");
  munmap(base, size);
  close(fd);
  return 0;
}
