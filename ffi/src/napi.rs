//! The N-API side of the same library: zero-copy views whose memory lives as
//! long as the last reference to it.
//!
//! `Deno.dlopen` cannot make an `ArrayBuffer` that tells native code when
//! it dies; N-API can (`napi_create_external_arraybuffer`, whose finalizer
//! runs once the engine frees the last backing store of the buffer: after
//! `transfer()`, `postMessage` to a worker, or an async op that held it).
//! TypeScript loads this library a second time with `process.dlopen`
//! (`src/ffi.ts`); both loads share one copy of its statics, so the ids the
//! FFI side hands out resolve here.
//!
//! Exports (on the module's `exports` object):
//! - `view(id, offset, length)`: an external `ArrayBuffer` over bytes of
//!   mapping `id` (`length` > 0), which owns the mapping until it is freed
//!   (`registry::Entry::own`, released by `finalize`).
//! - `adopt(id)`: ties mapping `id` to this environment (the main thread's or
//!   a worker's): when the environment ends, its cleanup hook closes every
//!   handle it adopted that is still open, so a worker's mappings are
//!   released when it ends (the pages stay while a buffer sent elsewhere
//!   still references them).
//!
//! The `napi_*` functions are looked up in the running process
//! (`os::process_symbol`), so nothing is linked and a plain `Deno.dlopen`
//! of the library works without them. The types below are the C ABI of
//! `js_native_api_types.h` / `node_api.h`, declared here (std only). No
//! panic can unwind out of a callback (`panic = "abort"`), and nothing here
//! unwraps what JavaScript passes.

use std::ffi::{c_void, CStr, CString};
use std::os::raw::c_char;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::abi::{check_range, to_usize};
use crate::error::{Failure, Result, Status};
use crate::os;
use crate::registry;

type Env = *mut c_void;
type Value = *mut c_void;
type CallbackInfo = *mut c_void;
/// `napi_status`; `napi_ok` is 0.
type NapiStatus = i32;
type Callback = unsafe extern "C" fn(Env, CallbackInfo) -> Value;
type Finalize = unsafe extern "C" fn(Env, *mut c_void, *mut c_void);
type CleanupHook = unsafe extern "C" fn(*mut c_void);

type CreateExternalArrayBuffer = unsafe extern "C" fn(
    Env,
    *mut c_void,
    usize,
    Option<Finalize>,
    *mut c_void,
    *mut Value,
) -> NapiStatus;
type CreateFunction = unsafe extern "C" fn(
    Env,
    *const c_char,
    usize,
    Option<Callback>,
    *mut c_void,
    *mut Value,
) -> NapiStatus;
type SetNamedProperty = unsafe extern "C" fn(Env, Value, *const c_char, Value) -> NapiStatus;
type GetCbInfo = unsafe extern "C" fn(
    Env,
    CallbackInfo,
    *mut usize,
    *mut Value,
    *mut Value,
    *mut *mut c_void,
) -> NapiStatus;
type GetValueDouble = unsafe extern "C" fn(Env, Value, *mut f64) -> NapiStatus;
type ThrowError = unsafe extern "C" fn(Env, *const c_char, *const c_char) -> NapiStatus;
type AddEnvCleanupHook = unsafe extern "C" fn(Env, Option<CleanupHook>, *mut c_void) -> NapiStatus;

/// The N-API functions this module calls, resolved once per environment.
struct Api {
    create_external_arraybuffer: CreateExternalArrayBuffer,
    create_function: CreateFunction,
    set_named_property: SetNamedProperty,
    get_cb_info: GetCbInfo,
    get_value_double: GetValueDouble,
    throw_error: ThrowError,
    add_env_cleanup_hook: AddEnvCleanupHook,
}

/// The address of `name` (NUL-terminated bytes) in the process, if any.
fn lookup(name: &[u8]) -> Option<usize> {
    let name = CStr::from_bytes_with_nul(name).ok()?;
    match os::process_symbol(name) {
        0 => None,
        addr => Some(addr),
    }
}

macro_rules! resolve {
    ($name:literal, $type:ty) => {
        match lookup(concat!($name, "\0").as_bytes()) {
            // SAFETY: the runtime exports `$name` with the signature `$type`
            // (node_api.h); a function address fits in a usize.
            Some(addr) => unsafe { std::mem::transmute::<usize, $type>(addr) },
            None => return None,
        }
    };
}

impl Api {
    fn resolve() -> Option<Api> {
        Some(Api {
            create_external_arraybuffer: resolve!(
                "napi_create_external_arraybuffer",
                CreateExternalArrayBuffer
            ),
            create_function: resolve!("napi_create_function", CreateFunction),
            set_named_property: resolve!("napi_set_named_property", SetNamedProperty),
            get_cb_info: resolve!("napi_get_cb_info", GetCbInfo),
            get_value_double: resolve!("napi_get_value_double", GetValueDouble),
            throw_error: resolve!("napi_throw_error", ThrowError),
            add_env_cleanup_hook: resolve!("napi_add_env_cleanup_hook", AddEnvCleanupHook),
        })
    }
}

/// One environment's record: the functions and the handles it adopted.
struct State {
    api: Api,
    adopted: Mutex<Adopted>,
}

/// Ids adopted by an environment; pruned of closed ones now and then, so
/// the list stays as long as the live handles (amortized).
struct Adopted {
    ids: Vec<u32>,
    prune_at: usize,
}

impl State {
    fn adopted(&self) -> MutexGuard<'_, Adopted> {
        // A poisoned lock only means a panic elsewhere; the list is intact.
        self.adopted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Releases one owner of a mapping: the finalizer of every external buffer
/// `view` made. Calls no N-API function, so it is sound on any thread.
unsafe extern "C" fn finalize(_env: Env, _data: *mut c_void, hint: *mut c_void) {
    // Nothing to report to: an unmap failure leaves the range mapped.
    let _ = registry::release(hint as usize);
}

/// Closes every handle the ending environment adopted and frees its record.
unsafe extern "C" fn cleanup(arg: *mut c_void) {
    // SAFETY: `arg` is the `State` that `napi_register_module_v1` leaked for
    // this hook, which runs once; no callback of the environment runs after.
    let state = Box::from_raw(arg as *mut State);
    let ids = std::mem::take(&mut state.adopted().ids);
    for id in ids {
        // Closed already (BadHandle) is the common case.
        let _ = registry::close(id, "close");
    }
}

/// Up to `N` arguments of a call as numbers, and this module's state.
///
/// # Safety
/// `env` and `info` come from the runtime for the current callback.
unsafe fn arguments<const N: usize>(
    env: Env,
    info: CallbackInfo,
) -> Option<(&'static State, [f64; N])> {
    let mut data: *mut c_void = std::ptr::null_mut();
    let mut argc = N;
    let mut argv: [Value; N] = [std::ptr::null_mut(); N];
    let get_cb_info = match CB_INFO.load(Ordering::Acquire) {
        0 => return None,
        // SAFETY: only ever set to the resolved `napi_get_cb_info`.
        addr => std::mem::transmute::<usize, GetCbInfo>(addr),
    };
    if get_cb_info(
        env,
        info,
        &mut argc,
        argv.as_mut_ptr(),
        std::ptr::null_mut(),
        &mut data,
    ) != 0
        || data.is_null()
    {
        return None;
    }
    // SAFETY: `data` is the leaked `State` given to `napi_create_function`;
    // it lives until the environment's cleanup hook, after its last call.
    let state = &*(data as *const State);
    let mut numbers = [f64::NAN; N];
    for (number, value) in numbers.iter_mut().zip(argv.iter()).take(argc.min(N)) {
        if (state.api.get_value_double)(env, *value, number) != 0 {
            *number = f64::NAN;
        }
    }
    Some((state, numbers))
}

/// `napi_get_cb_info` (set by `napi_register_module_v1`), which a callback
/// needs before it can reach its `State`.
static CB_INFO: AtomicUsize = AtomicUsize::new(0);

/// Throws `failure` as a JavaScript `Error` whose `code` is its status
/// number (`src/ffi.ts` maps it); returns the `undefined` a throwing
/// callback returns.
unsafe fn throw(env: Env, state: &State, failure: &Failure) -> Value {
    let code = CString::new((failure.status as i32).to_string()).unwrap_or_default();
    let message = CString::new(format!(
        "mmap {}: {}",
        failure.detail.call,
        failure.detail.message.replace('\0', " ")
    ))
    .unwrap_or_default();
    // SAFETY: both strings are NUL-terminated and outlive the call.
    (state.api.throw_error)(env, code.as_ptr(), message.as_ptr());
    std::ptr::null_mut()
}

fn invalid(message: &'static str) -> Failure {
    Failure::new(Status::InvalidArgument, "view", message)
}

fn to_id(id: f64) -> Result<u32> {
    if id >= 0.0 && id <= f64::from(u32::MAX) && id.fract() == 0.0 {
        Ok(id as u32)
    } else {
        Err(invalid("the id is not a mapping id"))
    }
}

/// `view(id, offset, length)`; see the module's notes.
unsafe extern "C" fn view(env: Env, info: CallbackInfo) -> Value {
    const CALL: &str = "view";
    let (state, [id, offset, len]) = match arguments::<3>(env, info) {
        Some(found) => found,
        None => return std::ptr::null_mut(),
    };
    let made = (|| {
        let entry = registry::enter(to_id(id)?, CALL)?;
        let offset = to_usize(offset, "offset", CALL)?;
        let len = to_usize(len, "length", CALL)?;
        check_range(offset, len, entry.len(), CALL)?;
        if len == 0 {
            return Err(invalid("an empty view needs no mapped memory"));
        }
        // The new buffer's owner, counted while the mapping is pinned.
        Ok((entry.base() + offset, len, entry.own()))
    })();
    let (addr, len, owner) = match made {
        Ok(made) => made,
        Err(failure) => return throw(env, state, &failure),
    };
    let mut buffer: Value = std::ptr::null_mut();
    // SAFETY: `[addr, addr + len)` is inside the mapping, which stays mapped
    // until `finalize` releases the owner just taken for this buffer.
    let status = (state.api.create_external_arraybuffer)(
        env,
        addr as *mut c_void,
        len,
        Some(finalize),
        owner as *mut c_void,
        &mut buffer,
    );
    if status != 0 {
        let _ = registry::release(owner);
        let failure = Failure::new(
            Status::InvalidArgument,
            CALL,
            format!(
                "the runtime could not make an external buffer (napi status {})",
                status
            ),
        );
        return throw(env, state, &failure);
    }
    buffer
}

/// `adopt(id)`; see the module's notes.
unsafe extern "C" fn adopt(env: Env, info: CallbackInfo) -> Value {
    let (state, [id]) = match arguments::<1>(env, info) {
        Some(found) => found,
        None => return std::ptr::null_mut(),
    };
    let id = match to_id(id) {
        Ok(id) => id,
        Err(failure) => return throw(env, state, &failure),
    };
    let mut adopted = state.adopted();
    if adopted.ids.len() >= adopted.prune_at {
        // Closed handles no longer resolve; keep the rest.
        adopted
            .ids
            .retain(|id| registry::enter(*id, "adopt").is_ok());
        adopted.prune_at = (adopted.ids.len() * 2).max(64);
    }
    adopted.ids.push(id);
    std::ptr::null_mut()
}

/// Sets `exports[name]` to a function calling `callback` with `state`.
unsafe fn export(
    env: Env,
    exports: Value,
    state: *mut State,
    name: &[u8],
    callback: Callback,
) -> bool {
    let api = &(*state).api;
    let mut function: Value = std::ptr::null_mut();
    // SAFETY: `name` is NUL-terminated (checked by the callers' literals).
    (api.create_function)(
        env,
        name.as_ptr() as *const c_char,
        name.len() - 1,
        Some(callback),
        state as *mut c_void,
        &mut function,
    ) == 0
        && (api.set_named_property)(env, exports, name.as_ptr() as *const c_char, function) == 0
}

/// The module's entry point, called by `process.dlopen` in each environment
/// that loads it. Returns `exports` with `view` and `adopt`, or null when
/// the runtime lacks N-API (the caller then reports that views need it).
///
/// # Safety
/// Called by the runtime with a live environment and its exports object.
#[no_mangle]
pub unsafe extern "C" fn napi_register_module_v1(env: Env, exports: Value) -> Value {
    let api = match Api::resolve() {
        Some(api) => api,
        None => return std::ptr::null_mut(),
    };
    CB_INFO.store(api.get_cb_info as usize, Ordering::Release);
    let state = Box::into_raw(Box::new(State {
        api,
        adopted: Mutex::new(Adopted {
            ids: Vec::new(),
            prune_at: 64,
        }),
    }));
    let ok = export(env, exports, state, b"view\0", view)
        && export(env, exports, state, b"adopt\0", adopt)
        && ((*state).api.add_env_cleanup_hook)(env, Some(cleanup), state as *mut c_void) == 0;
    if !ok {
        // Functions made so far keep `state` as their data: leak it rather
        // than leave them a dangling pointer.
        return std::ptr::null_mut();
    }
    exports
}
