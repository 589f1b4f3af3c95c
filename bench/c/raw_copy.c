/*
 * The physical limit of a per-call copy over Deno FFI, for the benchmarks
 * only (never shipped): the signature of `mmap_read`/`mmap_write`
 * (u32 id, f64 offset, buffer, f64 length) -> i32, copying from or to a
 * base address the benchmark registers once per group (`raw_set_base`,
 * the very mapping `readSync` copies from), with no registry, no checks
 * and no status: what is left is the FFI call and the copy.
 *
 *   gcc -O2 -shared -fPIC -o bench/.data/libraw_copy.so bench/c/raw_copy.c
 *
 * (bench/side.ts builds it before the first run; bench/_workloads.ts uses
 * it when it is there.)
 */
#include <stdint.h>
#include <string.h>

#define BASES 16
static unsigned char *bases[BASES];

void raw_set_base(uint32_t id, void *pointer) { bases[id % BASES] = pointer; }

int32_t raw_read(uint32_t id, double offset, unsigned char *dst, double len) {
  memcpy(dst, bases[id % BASES] + (size_t)offset, (size_t)len);
  return 0;
}

int32_t raw_write(uint32_t id, double offset, const unsigned char *src,
                  double len) {
  memcpy(bases[id % BASES] + (size_t)offset, src, (size_t)len);
  return 0;
}
