// Model weights: a 2 GiB safetensors file loaded by mapping it
// (examples/safetensors.ts, views over the file's pages) against
// Deno.readFile + typed views over the copy. Each load runs in a fresh
// process, with the file in the page cache: time from open to the first
// tensor's first value, time to touch every page of every tensor, peak RSS
// (VmHWM) as a multiple of the file size, and the PSS of two processes that
// load the same file at once (shared pages count half in each).
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

const [first, ...rest] = Deno.args;
if (first === "child") {
  const [mode, path] = rest;
  // The native library is loaded before the clock starts, as in a program
  // that already uses it.
  openAnonymousSync(PAGE).close();
  await reportAndHold(
    mode === "mmap" ? mmapLoad(path) : copyLoad(path, mode === "sized"),
  );
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
}
