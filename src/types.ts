/**
 * The public types that several modules share: the seed's handle shape and
 * the names a mapping's kind, advice and flush modes take.
 *
 * @module
 */

/**
 * A memory mapping, as the package's original API describes it. Every handle
 * returned by {@linkcode open} and its variants is an {@linkcode Mmap}, which
 * has this shape and more.
 */
export interface MmapHandle {
  /** Native address of the first mapped byte (`null` for an empty mapping). */
  readonly ptr: Deno.PointerValue;
  /** Mapped length in bytes. */
  readonly len: number;
  /** Absolute path of the mapped file. */
  readonly path: string;
}

/**
 * Options of {@linkcode openWriteWithSize} and {@linkcode Mmap.resize}.
 */
export interface PreallocateOptions {
  /**
   * Allocate the file's blocks on disk when it is sized (`posix_fallocate`
   * on Linux, `fcntl(F_PREALLOCATE)` on macOS, `FileAllocationInfo` on
   * Windows), so that a full disk fails right here, with an
   * {@linkcode MmapError} whose `code` is the OS's out-of-space code
   * (ENOSPC, 28; `ERROR_DISK_FULL`, 112, on Windows), and leaves the file as
   * it was. Without it a file grows sparse, and a full disk shows up only
   * when a page is first written through the mapping (see README, "Out of
   * space").
   *
   * @default {false}
   */
  preallocate?: boolean;
}

/**
 * What a mapping shows: a file (or part of one), anonymous memory, or named
 * shared memory.
 */
export type MappingKind = "file" | "anonymous" | "shared";

/**
 * How a range will be used, for {@linkcode advise}: `"normal"`,
 * `"sequential"` (read ahead aggressively, drop pages behind), `"random"`
 * (no read-ahead), `"willneed"` (read the range in now), `"dontneed"` (the
 * range can leave memory; a file's pages are read back from the file later),
 * `"hugepage"` and `"nohugepage"` (Linux `MADV_HUGEPAGE`/`MADV_NOHUGEPAGE`:
 * back the range with transparent huge pages, or keep it in small pages).
 *
 * The huge-page advice is for anonymous and shared memory: Linux backs
 * anonymous memory with 2 MiB pages when
 * `/sys/kernel/mm/transparent_hugepage/enabled` is `always` or `madvise`,
 * and shared memory when `shmem_enabled` is `advise`, `always` or
 * `within_size`; a file mapping takes the advice, and the file system
 * decides. A kernel without transparent huge pages refuses it with
 * `Deno.errors.NotSupported`. On macOS and Windows it is accepted and does
 * nothing (their large pages are chosen when memory is allocated, not by
 * advice).
 */
export type Advice =
  | "normal"
  | "sequential"
  | "random"
  | "willneed"
  | "dontneed"
  | "hugepage"
  | "nohugepage";

/**
 * How {@linkcode flush} writes back: `"sync"` waits for the write
 * (`msync(MS_SYNC)`, `FlushViewOfFile`); `"async"` only schedules it
 * (`MS_ASYNC`); `"durable"` waits and then flushes the file to the device
 * (`fsync`, `F_FULLFSYNC` on macOS, `FlushFileBuffers` on Windows), so the
 * data survives a power loss.
 */
export type FlushMode = "sync" | "async" | "durable";
