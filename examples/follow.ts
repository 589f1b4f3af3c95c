// Following a growing file from other processes: a writer appends records
// to a log and bumps a counter in a small shared "cell" file, then notifies;
// readers in their own processes sleep in wait() until the counter moves,
// remap the log to its new length and read the new records.
//
//   deno run --allow-ffi --unstable-ffi --allow-read --allow-write --allow-run \
//     examples/follow.ts [readers, default 2] [records, default 5]
//
// (The same file runs as a reader: `follow.ts reader <log> <cell>`.)

import {
  openSync,
  openWriteSync,
  openWriteWithSizeSync,
  wait,
} from "@riaskov/mmap";

const LAST = "end\n";

/** A reader: prints each record as it arrives, until the last one. */
function follow(logPath: string, cellPath: string): void {
  // The cell: the Int32 at offset 0 counts the records written; the 4 bytes
  // after it are the wait cell's sleeper count (see wait()).
  using cell = openWriteSync(cellPath);
  const count = new Int32Array(cell.view().buffer, 0, 1);
  using log = openSync(logPath);
  const decoder = new TextDecoder();
  let seen = 0;
  let read = 0;
  let text = "";
  while (!text.endsWith(LAST)) {
    // Sleeps until the writer notifies a new count (at once if it moved).
    wait(cell, 0, seen, 10_000);
    seen = Atomics.load(count, 0);
    log.remapSync(); // the log's current length; old views are emptied
    text += decoder.decode(log.view(read));
    read = log.len;
  }
  for (const line of text.split("\n").filter((l) => l !== "")) {
    console.log(`reader ${Deno.pid}: ${line}`);
  }
}

async function write(readers: number, records: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mmap_follow_" });
  const logPath = `${dir}/log.txt`;
  const cellPath = `${dir}/log.cell`;
  try {
    await Deno.writeTextFile(logPath, "");
    using cell = openWriteWithSizeSync(cellPath, 4096);
    const count = new Int32Array(cell.view().buffer, 0, 1);
    const children = Array.from(
      { length: readers },
      () =>
        new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "--allow-ffi",
            "--unstable-ffi",
            "--allow-read",
            "--allow-write",
            import.meta.filename ?? new URL(import.meta.url).pathname,
            "reader",
            logPath,
            cellPath,
          ],
          stdout: "inherit",
          stderr: "inherit",
        }).spawn(),
    );
    using log = await Deno.open(logPath, { append: true });
    const encoder = new TextEncoder();
    for (let i = 1; i <= records + 1; i++) {
      const record = i <= records ? `record ${i}\n` : LAST;
      await log.write(encoder.encode(record));
      Atomics.add(count, 0, 1);
      cell.notify(0); // wakes every reader asleep on the cell
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const child of children) {
      const { code } = await child.status;
      if (code !== 0) throw new Error(`a reader failed with code ${code}`);
    }
    console.log(`${readers} readers followed ${records} records`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (Deno.args[0] === "reader") {
  follow(Deno.args[1]!, Deno.args[2]!);
} else {
  await write(Number(Deno.args[0] ?? 2), Number(Deno.args[1] ?? 5));
}
