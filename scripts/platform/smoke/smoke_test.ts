// Loads the smoke library named by $SMOKE_LIB and exercises it (see src/lib.rs).
import { assert, assertEquals } from "./_assert.ts";

const path = Deno.env.get("SMOKE_LIB");
if (!path) throw new Error("SMOKE_LIB is not set");

const lib = Deno.dlopen(
  path,
  {
    smoke_add: { parameters: ["i32", "i32"], result: "i32" },
    smoke_granularity: { parameters: [], result: "u32" },
    smoke_roundtrip: {
      parameters: ["buffer", "usize", "buffer", "usize"],
      result: "i64",
    },
  } as const,
);

Deno.test("smoke_add() adds", () => {
  assertEquals(lib.symbols.smoke_add(2, 40), 42);
});

Deno.test("smoke_granularity() is a power of two", () => {
  const g = lib.symbols.smoke_granularity();
  assert(g >= 4096 && (g & (g - 1)) === 0, `granularity ${g}`);
  console.log(`  ${Deno.build.target}: granularity ${g}`);
});

Deno.test("smoke_roundtrip() writes and reads a file with a Unicode name", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const p = new TextEncoder().encode(`${dir}/данные-数据.bin`);
    const data = new Uint8Array(10000).map((_, i) => i * 7);
    assertEquals(
      Number(
        lib.symbols.smoke_roundtrip(
          p,
          BigInt(p.length),
          data,
          BigInt(data.length),
        ),
      ),
      10000,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
