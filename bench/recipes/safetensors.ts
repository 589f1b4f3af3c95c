// Model weights: a 2 GiB safetensors file loaded by mapping it
// (examples/safetensors.ts, views over the file's pages) against
// Deno.readFile + typed views over the copy. Each load runs in a fresh
// process, with the file in the page cache: time from open to the first
// tensor's first value, time to touch every page of every tensor, peak RSS
// (VmHWM) as a multiple of the file size, and the PSS of two processes that
// load the same file at once (shared pages count half in each).
//
// "Open to first tensor" for the mapping is timed three ways:
// - the first call into the package in a fresh process whose modules are
//   loaded (the program's imports have run), so it includes finding,
//   checking and loading the native library and its N-API side;
// - the same with the native library already loaded by an earlier call;
// - from process start: a process that imports the package, opens the file
//   and reads the first value, start to exit, minus a bare `deno run` of an
//   empty script (medians of 7 of each, taken in turns in the same run), so
//   that it counts loading the package's modules too.
//
//   deno run -A bench/recipes/safetensors.ts <data dir> [size in MiB]

import { openSafeTensors } from "../../examples/safetensors.ts";
import { openAnonymousSync } from "../../mod.ts";
import {
  emit,
  haveProc,
  hold,
  procBytes,
  readSized,
  reportAndHold,
  warm,
} from "./_proc.ts";

const MiB = 1024 * 1024;
const TENSOR = 32 * MiB;
const PAGE = 4096;

interface Loaded {
  first_ns: number;
  /** Open to first tensor with the native library loaded before. */
  loaded_ns?: number;
  /** Open to first tensor again in the same process (mmap only, median of 5). */
  again_ns?: number;
  touch_ns: number;
  hwm: number;
  check: number;
}

/**
 * Parses a header by hand from a copy of the file: `Deno.readFile`, or
 * FsFile reads into a buffer of the file's size.
 */
function copyLoad(path: string, sized: boolean): Loaded {
  const t0 = performance.now();
  const bytes = sized ? readSized(path) : Deno.readFileSync(path);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const names = Object.keys(header).filter((k) => k !== "__metadata__");
  const view = (name: string) => {
    const [begin, end] = header[name].data_offsets;
    return new Float32Array(bytes.buffer, 8 + n + begin, (end - begin) / 4);
  };
  let check = view(names[0])[0];
  const t1 = performance.now();
  for (const name of names) {
    const t = view(name);
    for (let i = 0; i < t.length; i += PAGE / 4) check += t[i];
  }
  const t2 = performance.now();
  return {
    first_ns: (t1 - t0) * 1e6,
    touch_ns: (t2 - t1) * 1e6,
    hwm: procBytes("status", "VmHWM"),
    check,
  };
}

function mmapLoad(path: string): Loaded {
  // The first call into the package: nothing of it has run yet.
  const t0 = performance.now();
  const model = openSafeTensors(path);
  const names = model.names();
  let check = (model.tensor(names[0]) as Float32Array)[0];
  const t1 = performance.now();
  for (const name of names) {
    const t = model.tensor(name) as Float32Array;
    for (let i = 0; i < t.length; i += PAGE / 4) check += t[i];
  }
  const t2 = performance.now();
  // Once the code has run: what a program that opens models often pays
  // (the median of 5 opens).
  const agains: number[] = [];
  for (let k = 0; k < 5; k++) {
    const start = performance.now();
    const again = openSafeTensors(path);
    check += (again.tensor(again.names()[0]) as Float32Array)[0];
    agains[k] = performance.now() - start;
    again.close();
  }
  agains.sort((x, y) => x - y);
  const out = {
    first_ns: (t1 - t0) * 1e6,
    again_ns: agains[2] * 1e6,
    touch_ns: (t2 - t1) * 1e6,
    hwm: procBytes("status", "VmHWM"),
    check,
  };
  // The model stays open (and mapped) while the parent measures.
  (globalThis as { model?: unknown }).model = model;
  return out;
}

/** Writes the model: float32 tensors of 32 MiB, back to back. */
function makeModel(path: string, size: number): void {
  const count = Math.max(1, Math.round(size / TENSOR));
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  for (let i = 0; i < count; i++) {
    header[`layers.${i}.weight`] = {
      dtype: "F32",
      shape: [TENSOR / 4 / 2048, 2048],
      data_offsets: [i * TENSOR, (i + 1) * TENSOR],
    };
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - json.length % 8) % 8);
  const head = new TextEncoder().encode(json);
  try {
    const stat = Deno.statSync(path);
    if (stat.size === 8 + head.length + count * TENSOR) return;
  } catch { /* not made yet */ }
  const tmp = `${path}.tmp`;
  using file = Deno.openSync(tmp, {
    write: true,
    create: true,
    truncate: true,
  });
  const length = new Uint8Array(8);
  new DataView(length.buffer).setBigUint64(0, BigInt(head.length), true);
  file.writeSync(length);
  let done = 0;
  while (done < head.length) done += file.writeSync(head.subarray(done));
  const data = new Float32Array(TENSOR / 4).map((_, i) => (i % 1000) / 1000);
  const bytes = new Uint8Array(data.buffer);
  for (let i = 0; i < count; i++) {
    data[0] = i;
    for (let at = 0; at < bytes.length;) {
      at += file.writeSync(bytes.subarray(at));
    }
  }
  Deno.renameSync(tmp, path);
}

/** Open to first tensor in a process where the library is loaded. */
function loadedLoad(path: string): { first_ns: number } {
  openAnonymousSync(PAGE).close();
  const t0 = performance.now();
  const model = openSafeTensors(path);
  const value = (model.tensor(model.names()[0]) as Float32Array)[0];
  const t1 = performance.now();
  model.close();
  if (Number.isNaN(value)) throw new Error("no first value");
  return { first_ns: (t1 - t0) * 1e6 };
}

/** Milliseconds of a `deno run` from spawn to exit. */
async function runMs(args: string[]): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", ...args],
    stdout: "null",
    stderr: "inherit",
  }).output();
  const ms = performance.now() - t0;
  if (!out.success) throw new Error(`deno run ${args.join(" ")} failed`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const [first, ...rest] = Deno.args;
if (first === "child") {
  const [mode, path] = rest;
  if (mode === "start") {
    // Import (above), open, first value, exit: timed by the parent.
    const model = openSafeTensors(path);
    if (Number.isNaN((model.tensor(model.names()[0]) as Float32Array)[0])) {
      throw new Error("no first value");
    }
    Deno.exit(0);
  }
  if (mode === "loaded") await reportAndHold(loadedLoad(path));
  else if (mode === "mmap") await reportAndHold(mmapLoad(path));
  else {
    // The native library is loaded here too (the copies do not use it),
    // so that the processes' memory differs only by the load itself.
    openAnonymousSync(PAGE).close();
    await reportAndHold(copyLoad(path, mode === "sized"));
  }
} else if (!haveProc()) {
  emit({ skip: "needs /proc (Linux) for RSS and PSS" });
} else {
  const size = Number(rest[0] ?? 2048) * MiB;
  const path = `${first}/model-${size / MiB}m.safetensors`;
  makeModel(path, size);
  warm(path);
  const bytes = Deno.statSync(path).size;
  const gib = bytes >= 1024 ** 3
    ? `${+(bytes / 1024 ** 3).toFixed(1)} GiB`
    : `${Math.round(bytes / MiB)} MiB`;
  const script = new URL(import.meta.url).pathname;
  const alternatives = [
    ["mmap", "mmap + viewAs()"],
    ["readfile", "Deno.readFile + views"],
    ["sized", "Deno.FsFile read into a sized buffer + views"],
  ] as const;
  for (const [mode, name] of alternatives) {
    const a = await hold<Loaded>(script, ["child", mode, path]);
    // A second process loads the same file while the first holds it.
    const b = await hold<Loaded>(script, ["child", mode, path]);
    const pss = procBytes("smaps_rollup", "Pss", a.pid) +
      procBytes("smaps_rollup", "Pss", b.pid);
    const rssB = procBytes("smaps_rollup", "Rss", b.pid);
    const pssB = procBytes("smaps_rollup", "Pss", b.pid);
    await a.release();
    await b.release();
    const baseline = mode === "readfile";
    emit({
      group: `safetensors ${gib}: open to first tensor`,
      name,
      ns_per_op: a.result.first_ns,
      baseline,
    });
    if (a.result.again_ns !== undefined) {
      const loaded = await hold<{ first_ns: number }>(script, [
        "child",
        "loaded",
        path,
      ]);
      await loaded.release();
      emit({
        group: `safetensors ${gib}: open to first tensor`,
        name: `${name}, native library already loaded`,
        ns_per_op: loaded.result.first_ns,
      });
      emit({
        group: `safetensors ${gib}: open to first tensor`,
        name: `${name}, opened again (median of 5)`,
        ns_per_op: a.result.again_ns,
      });
    }
    emit({
      group: `safetensors ${gib}: touch every page`,
      name,
      ns_per_op: a.result.touch_ns,
      baseline,
    });
    const group = `safetensors ${gib}: memory`;
    const unit = "× file size";
    emit({
      group,
      name: `${name}: peak RSS`,
      value: a.result.hwm / bytes,
      unit,
    });
    emit({
      group,
      name: `${name}: 2nd process RSS`,
      value: rssB / bytes,
      unit,
    });
    emit({
      group,
      name: `${name}: 2nd process PSS`,
      value: pssB / bytes,
      unit,
    });
    emit({ group, name: `${name}: PSS of both`, value: pss / bytes, unit });
  }
  // From process start: the package's modules, the library, the open and
  // the first value, against a bare `deno run` of an empty script.
  const empty = `${first}/empty.ts`;
  Deno.writeTextFileSync(empty, "");
  const whole: number[] = [];
  const bare: number[] = [];
  await runMs([script, "child", "start", path]); // compile caches warm
  await runMs([empty]);
  for (let i = 0; i < 7; i++) {
    whole.push(await runMs([script, "child", "start", path]));
    bare.push(await runMs([empty]));
  }
  const group = `safetensors ${gib}: open to first tensor from process start`;
  emit({
    group,
    name: "deno run of an empty script (start to exit)",
    value: median(bare),
    unit: "ms",
  });
  emit({
    group,
    name: "import, open, first value (start to exit)",
    value: median(whole),
    unit: "ms",
  });
  emit({
    group,
    name: "mmap + viewAs(): the difference",
    value: median(whole) - median(bare),
    unit: "ms",
  });
}
