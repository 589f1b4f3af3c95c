/**
 * The one permission check. Native code can open any file once
 * `--allow-ffi` is granted, so the package asks Deno's permissions itself,
 * as `Deno.open` would, before the library is loaded or anything is opened.
 * Private to the package.
 *
 * @module
 */

import { where } from "./_args.ts";

/**
 * Throws unless Deno grants `kind` access to `path` (or, without a path,
 * unrestricted `kind` access). A permission still at "prompt" is asked for,
 * as `Deno.open` does.
 *
 * @param kind The access needed.
 * @param path The absolute path, or `undefined` for access to everything.
 * @param call The public call, for the message.
 * @param name The name the user gave, for the message.
 * @throws {Deno.errors.NotCapable} When the access is not granted.
 */
export function requirePermission(
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
      `${where(call, name)}: requires ${kind} access${
        path === undefined ? "" : ` to "${path}"`
      }, run again with the --allow-${kind} flag`,
    );
  }
}
