/*
 * The floor of the random-read groups: a C loop of memcpy at the very
 * offsets the deno bench groups visit (the same mulberry32 sequence as
 * randomOffsets in bench/_common.ts, seed 1), from a populated shared
 * mapping of bench/.data/big.bin. A side program of bench/side.ts: prints
 * one JSON line per read size, ns per read (median of 7 passes over the
 * 1,048,576 offsets).
 *
 *   gcc -O2 -o bench/.data/memcpy_loop bench/c/memcpy_loop.c
 *   bench/.data/memcpy_loop bench/.data/big.bin
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

#ifndef MAP_POPULATE
#define MAP_POPULATE 0
#endif

#define COUNT (1 << 20)
#define PASSES 7

static uint32_t state;

/* mulberry32, as `random` in bench/_common.ts. */
static double next(void) {
  state += 0x6d2b79f5u;
  uint32_t t = state;
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return (double)(t ^ (t >> 14)) / 4294967296.0;
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static const char *label(size_t len) {
  switch (len) {
  case 64: return "64 B";
  case 4096: return "4 KiB";
  default: return "64 KiB";
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    printf("{\"skip\": \"usage: memcpy_loop FILE\"}\n");
    return 0;
  }
  int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    printf("{\"skip\": \"cannot open %s\"}\n", argv[1]);
    return 0;
  }
  size_t size = (size_t)st.st_size;
  unsigned char *base =
      mmap(NULL, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (base == MAP_FAILED) {
    printf("{\"skip\": \"mmap failed\"}\n");
    return 0;
  }
  static double offsets[COUNT];
  static unsigned char dst[64 * 1024];
  size_t lens[] = {64, 4096, 64 * 1024};
  for (int l = 0; l < 3; l++) {
    size_t len = lens[l];
    /* randomOffsets(count, size, len, len): seeded with the length. */
    state = (uint32_t)len;
    for (int i = 0; i < COUNT; i++) {
      offsets[i] = (double)(size_t)(next() * (double)(size - len + 1));
    }
    /* The 64 KiB group reads 16 per iteration; fewer offsets keep it short. */
    int count = len >= 65536 ? COUNT / 16 : len >= 4096 ? COUNT / 4 : COUNT;
    double times[PASSES];
    unsigned sink = 0;
    for (int p = 0; p < PASSES; p++) {
      double t0 = now_ns();
      for (int i = 0; i < count; i++) {
        memcpy(dst, base + (size_t)offsets[i], len);
        /* Keep the copy: the compiler may not drop it. */
        __asm__ volatile("" : : "r"(dst) : "memory");
      }
      times[p] = (now_ns() - t0) / count;
      sink += dst[0];
    }
    qsort(times, PASSES, sizeof times[0], by_value);
    printf("{\"group\": \"random %s read\", \"name\": \"C loop of memcpy at "
           "the offsets\", \"ns_per_op\": %.2f}\n",
           label(len), times[PASSES / 2]);
    (void)sink;
  }
  return 0;
}
