// What the ping-pong benchmarks ask of the scheduler: how many times this
// thread has slept (its voluntary context switches, which count every time
// it blocked in the kernel: a futex wait, a read of an empty pipe, an
// epoll_wait), and a way to give up the CPU while waiting for a peer to get
// to sleep (a peer on the same CPU cannot, while this thread spins).

const libc = Deno.build.os === "linux"
  ? Deno.dlopen("libc.so.6", {
    sched_yield: { parameters: [], result: "i32" },
  })
  : undefined;

const decoder = new TextDecoder();
const status = new Uint8Array(4096);

/**
 * The voluntary context switches of this thread so far (Linux:
 * /proc/thread-self/status), or NaN where the OS does not say.
 */
export function sleeps(): number {
  if (Deno.build.os !== "linux") return NaN;
  // Read into a buffer made once: the count must not move with the reading.
  using file = Deno.openSync("/proc/thread-self/status");
  let length = 0;
  for (;;) {
    const n = file.readSync(status.subarray(length));
    if (n === null || n === 0) break;
    length += n;
    if (length === status.length) break;
  }
  const text = decoder.decode(status.subarray(0, length));
  const found = /^voluntary_ctxt_switches:\s*(\d+)/m.exec(text);
  return found ? Number(found[1]) : NaN;
}

/** Gives this thread's CPU to another runnable thread, if there is one. */
export const yieldCpu: () => void = libc
  ? () => void libc.symbols.sched_yield()
  : () => {};
