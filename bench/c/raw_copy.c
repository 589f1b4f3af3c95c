/*
 * The physical limit of a per-call copy over Deno FFI, for the benchmarks
 * only (never shipped): the same signature as `mmap_read`/`mmap_write`
 * (u32 id, f64 offset, buffer, f64 length) -> i32, copying from or to a
 * base address set once, with no registry, no checks and no status. The
 * benchmark sets the base to the very mapping `readSync` copies from.
 *
 *   gcc -O2 -shared -fPIC -o bench/.data/libraw_copy.so bench/c/raw_copy.c
 */
#include <stdint.h>
#include <string.h>

static unsigned char *base;

void raw_set_base(void *pointer) { base = pointer; }

int32_t raw_read(uint32_t id, double offset, unsigned char *dst, double len) {
  (void)id;
  memcpy(dst, base + (size_t)offset, (size_t)len);
  return 0;
}

int32_t raw_write(uint32_t id, double offset, const unsigned char *src,
                  double len) {
  (void)id;
  memcpy(base + (size_t)offset, src, (size_t)len);
  return 0;
}
