/**
 * The one permission check. Native code can open any file once
 * `--allow-ffi` is granted, so the package asks Deno itself, before the
 * library is loaded or anything is opened, and refuses exactly what
 * `Deno.open` refuses under the same flags. Private to the package.
 *
 * `Deno.permissions.querySync` alone is not enough: it answers "granted"
 * for paths that `Deno.open` refuses without `--allow-all` (on Linux
 * `/proc/self/root/…`, `/proc/self/fd/N`, `/dev/fd/N`, `/dev/shm/…`: Deno's
 * special-file rule, applied to the resolved path), and JavaScript cannot
 * tell `-A` from a full set of flags. So {@linkcode requireAccess} lets
 * Deno decide: after the flag for the access is queried (for a clear
 * message, and to prompt as `Deno.open` does), it stats the path with
 * `Deno.statSync`, which applies the same special-file rule as `Deno.open`
 * (measured: `tests/permissions_diff_test.ts` finds no disagreement with
 * `Deno.open` over flags × paths × modes). A stat never blocks and never
 * creates.
 *
 * @module
 */

import { where } from "./_args.ts";

/**
 * Throws unless the flags grant `kind` access to `path` (or, without a
 * path, unrestricted `kind` access): `querySync` only. A permission still at
 * "prompt" is asked for, as `Deno.open` does.
 *
 * @param kind The access needed.
 * @param path The absolute path, or `undefined` for access to everything.
 * @param call The public call, for the message.
 * @param name The name the user gave, for the message.
 * @throws {Deno.errors.NotCapable} When the access is not granted.
 */
export function requireFlag(
  kind: "read" | "write",
  path: string | undefined,
  call: string,
  name: string,
): void {
  const descriptor: Deno.PermissionDescriptor = path === undefined
    ? { name: kind }
    : { name: kind, path };
  let { state } = Deno.permissions.querySync(descriptor);
  if (state === "prompt") {
    state = Deno.permissions.requestSync(descriptor).state;
  }
  if (state !== "granted") {
    throw new Deno.errors.NotCapable(
      path === undefined
        ? `${
          where(call, name)
        }: requires ${kind} access to all files, run again with the --allow-${kind} flag (without a list of paths)`
        : `${
          where(call, name)
        }: requires ${kind} access to "${path}", run again with the --allow-${kind} flag`,
    );
  }
}

/** Deno's refusal, reworded to name the call. */
function refused(error: Error, call: string, name: string): Error {
  const reason = error.message.charAt(0).toLowerCase() + error.message.slice(1);
  return new Deno.errors.NotCapable(`${where(call, name)}: ${reason}`, {
    cause: error,
  });
}

/**
 * Throws unless `Deno.open(path, { read: true, write })` would be allowed
 * under this process's flags, or would fail only because the file does not
 * exist (with `create`, the native open then creates it).
 *
 * Costs a `querySync` per access and one `statSync`, about 5 µs each on
 * Linux (the open benchmark, `bench/open_bench.ts`, shows the total). Deno's
 * special-file rule depends on the path alone, not on the access, so one
 * stat answers for both.
 *
 * @param path The absolute path.
 * @param write Whether write access is needed too.
 * @param call The public call, for the message.
 * @param name The path as the user gave it, for the message.
 * @throws {Deno.errors.NotCapable} When `Deno.open` would be refused.
 */
export function requireAccess(
  path: string,
  write: boolean,
  call: string,
  name: string,
): void {
  requireFlag("read", path, call, name);
  if (write) requireFlag("write", path, call, name);
  // Deno.statSync applies Deno's rule for special files as Deno.open does,
  // and never blocks or creates. Whether the path can be mapped at all (a
  // regular file) the native open decides, without blocking either.
  try {
    Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw refused(error, call, name);
    }
    // Missing, a dangling link, or an OS refusal: the native open reports
    // it (or, with `create`, creates the file).
  }
}
