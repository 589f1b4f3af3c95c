# Wine + Deno-for-Windows environment. Source it (after lib.sh), then call wine_setup.
# Two workarounds for wine 8.0 (shared/notes/windows-under-wine.md):
#  1. wine has no bcryptprimitives.dll (ProcessPrng, imported by deno.exe's Rust std):
#     a mingw stub forwarding to RtlGenRandom goes into the prefix's system32.
#  2. V8 aborts in SegmentedTable::InitializeTable because wine's VirtualAlloc2 rejects
#     placeholder reservations: a copy of deno.exe has its one "VirtualAlloc2\0" import
#     name changed to "VirtualAllocX\0", so V8 falls back to plain VirtualAlloc.

export WINEPREFIX=${WINEPREFIX:-$TOOLS/wineprefix}
export WINEDEBUG=${WINEDEBUG:--all}
export WINEARCH=win64
# No Mono/Gecko installers, no desktop integration.
export WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-"mscoree=;mshtml=;winemenubuilder.exe="}
DENO_EXE=$TOOLS/deno-$DENO_VERSION-wine.exe
WIN_TARGET=x86_64-pc-windows-gnu

wine_packages() { apt_need gcc-mingw-w64-x86-64 rustc cargo libstd-rust-dev-windows wine64 wine; }

wine_deno() {
  [ -f "$DENO_EXE" ] && return 0
  local orig=$TOOLS/deno-$DENO_VERSION.exe
  npm_file @deno/win32-x64 "$DENO_VERSION" deno.exe "$orig"
  local n
  n=$(grep -c -a -F 'VirtualAlloc2' "$orig" || true)
  [ "$n" = 1 ] || die "expected one VirtualAlloc2 string in deno.exe, found $n"
  perl -0777 -pe 's/VirtualAlloc2\0/VirtualAllocX\0/' "$orig" >"$DENO_EXE.tmp"
  cmp -s "$orig" "$DENO_EXE.tmp" && die "patching deno.exe changed nothing"
  chmod +x "$DENO_EXE.tmp" && mv "$DENO_EXE.tmp" "$DENO_EXE"
}

wine_prefix() {
  local sys32=$WINEPREFIX/drive_c/windows/system32
  if [ ! -f "$sys32/bcryptprimitives.dll" ]; then
    rm -rf "$WINEPREFIX"
    log "wineboot --init ($WINEPREFIX)"
    wine wineboot --init >"$TOOLS/wineboot.log" 2>&1 || { tail -20 "$TOOLS/wineboot.log" >&2; die "wineboot failed"; }
    wineserver -w
    [ -d "$sys32" ] || die "wineboot made no $sys32"
    x86_64-w64-mingw32-gcc -O2 -shared -s -o "$TOOLS/bcryptprimitives.dll" \
      "$PLAT_DIR/bcryptprimitives.c" "$PLAT_DIR/bcryptprimitives.def" -ladvapi32
    cp "$TOOLS/bcryptprimitives.dll" "$sys32/"
  fi
}

wine_setup() {
  wine_packages
  wine_deno
  wine_prefix
}

# wine_run_deno ARGS...: run the patched deno.exe under wine.
wine_run_deno() { wine "$DENO_EXE" "$@"; }

# Each deno.exe start copies the executable to
# AppData/Local/deno/node_compat_bin/node.exe.tmp-<pid> and, under wine, never
# renames the copy into place: 93 MB a process, about 16 GB for the suite, enough
# to fill a disk. The sweeper deletes the copies a minute old while a suite runs
# (a copy is written once, at the process's start), and all of them at the end.
wine_sweep() {
  find "$WINEPREFIX/drive_c/users" -path '*/node_compat_bin/node.exe.tmp-*' "$@" -delete 2>/dev/null || true
}
wine_sweep_start() {
  wine_sweep
  ( while sleep 10; do wine_sweep -mmin +1; done ) &
  WINE_SWEEPER=$!
}
wine_sweep_stop() {
  [ -n "${WINE_SWEEPER:-}" ] && kill "$WINE_SWEEPER" 2>/dev/null
  wait "${WINE_SWEEPER:-}" 2>/dev/null || true
  WINE_SWEEPER=
  wine_sweep
}
