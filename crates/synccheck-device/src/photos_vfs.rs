//! A read-only SQLite VFS over a [`PageReader`]: SQLite opens "Photos.sqlite" and its `-wal`
//! through it and reads them page by page from the phone, in place.
//!
//! Written against `sqlite3_vfs` directly (through rusqlite's `ffi`, already in the build)
//! rather than with the `sqlite-vfs` crate: that crate has not been released since 2022, brings
//! bindings of its own, and is built around a writable file with a shared-memory wal-index,
//! the two things this VFS must not have. What it does here is small:
//! - only the main database and its `-wal` can be opened, both read-only; every write,
//!   truncate or delete is refused, so nothing can reach the phone;
//! - io methods of version 1, with no shared memory: SQLite reads a `-wal` through such a VFS
//!   only under `PRAGMA locking_mode=EXCLUSIVE`, which keeps the wal-index in heap memory
//!   (`query_in_place` sets it before the first read). The phone's `-shm` is never opened:
//!   the index is rebuilt from the `-wal` itself. Never `immutable=1`: that skips the `-wal`;
//! - locks are no-ops: only this one connection reads these bytes;
//! - randomness, sleep and time are the default VFS's.
//!
//! A panic inside a callback would unwind into C: each callback catches it and answers an
//! I/O error instead.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rusqlite::ffi;

use crate::photos_pages::{FetchError, LibraryFile, PageReader};

/// What the callbacks share: the reader and the first error it met.
struct Shared {
    reader: Mutex<PageReader>,
    has_wal: bool,
    error: Mutex<Option<FetchError>>,
}

#[repr(C)]
struct VfsFile {
    base: ffi::sqlite3_file,
    file: LibraryFile,
    shared: *const Shared,
}

/// A registered VFS; unregistered when dropped. Every connection opened on it must be closed
/// first.
pub struct AfcVfs {
    vfs: Box<ffi::sqlite3_vfs>,
    name: CString,
    shared: Box<Shared>,
}

// SAFETY: the raw pointers inside point into `shared` and `name`, owned by this value and
// never moved (both boxed); the reader is behind a mutex.
unsafe impl Send for AfcVfs {}

static NEXT_NAME: AtomicU64 = AtomicU64::new(0);

impl AfcVfs {
    /// Registers a VFS of a name of its own (several phones are read at once).
    pub fn register(reader: PageReader, has_wal: bool) -> Result<AfcVfs, String> {
        let name = CString::new(format!(
            "synccheck-afc-{}",
            NEXT_NAME.fetch_add(1, Ordering::Relaxed)
        ))
        .expect("no NUL in the name");
        let shared = Box::new(Shared {
            reader: Mutex::new(reader),
            has_wal,
            error: Mutex::new(None),
        });
        let mut vfs = Box::new(ffi::sqlite3_vfs {
            iVersion: 2,
            szOsFile: std::mem::size_of::<VfsFile>() as c_int,
            mxPathname: 512,
            pNext: std::ptr::null_mut(),
            zName: name.as_ptr(),
            pAppData: &*shared as *const Shared as *mut c_void,
            xOpen: Some(x_open),
            xDelete: Some(x_delete),
            xAccess: Some(x_access),
            xFullPathname: Some(x_full_pathname),
            xDlOpen: Some(x_dl_open),
            xDlError: Some(x_dl_error),
            xDlSym: Some(x_dl_sym),
            xDlClose: Some(x_dl_close),
            xRandomness: Some(x_randomness),
            xSleep: Some(x_sleep),
            xCurrentTime: Some(x_current_time),
            xGetLastError: Some(x_get_last_error),
            xCurrentTimeInt64: Some(x_current_time_int64),
            xSetSystemCall: None,
            xGetSystemCall: None,
            xNextSystemCall: None,
        });
        // SAFETY: `vfs` is fully initialised and outlives its registration (unregistered in
        // Drop before it is freed).
        let rc = unsafe { ffi::sqlite3_vfs_register(&mut *vfs, 0) };
        if rc != ffi::SQLITE_OK {
            return Err(format!("cannot register the AFC VFS (SQLite error {rc})"));
        }
        Ok(AfcVfs { vfs, name, shared })
    }

    pub fn name(&self) -> &str {
        self.name.to_str().expect("ASCII")
    }

    /// The first error the reader met, if any: why SQLite saw an I/O error.
    pub fn take_error(&self) -> Option<FetchError> {
        lock(&self.shared.error).take()
    }

    /// Reads from the library as SQLite would, for the header check before SQLite opens it.
    pub fn read(&self, file: LibraryFile, buf: &mut [u8], offset: u64) -> Result<bool, FetchError> {
        lock(&self.shared.reader).read(file, buf, offset)
    }

    /// Bytes fetched from the phone so far.
    pub fn fetched(&self) -> u64 {
        lock(&self.shared.reader).fetched()
    }

    /// See [`PageReader::read_ahead`].
    pub fn read_ahead(&self) -> (u64, u64) {
        lock(&self.shared.reader).read_ahead()
    }
}

impl Drop for AfcVfs {
    fn drop(&mut self) {
        // SAFETY: registered in `register`; no connection of ours is open on it any more.
        unsafe {
            ffi::sqlite3_vfs_unregister(&mut *self.vfs);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn default_vfs() -> *mut ffi::sqlite3_vfs {
    // SAFETY: a null name asks for the default VFS, which SQLite always has.
    unsafe { ffi::sqlite3_vfs_find(std::ptr::null()) }
}

/// Runs a callback, turning a panic into `on_panic`.
fn guarded(on_panic: c_int, f: impl FnOnce() -> c_int) -> c_int {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(on_panic)
}

static IO_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 1,
    xClose: Some(x_close),
    xRead: Some(x_read),
    xWrite: Some(x_write),
    xTruncate: Some(x_truncate),
    xSync: Some(x_sync),
    xFileSize: Some(x_file_size),
    xLock: Some(x_lock),
    xUnlock: Some(x_lock),
    xCheckReservedLock: Some(x_check_reserved_lock),
    xFileControl: Some(x_file_control),
    xSectorSize: Some(x_sector_size),
    xDeviceCharacteristics: Some(x_device_characteristics),
    xShmMap: None,
    xShmLock: None,
    xShmBarrier: None,
    xShmUnmap: None,
    xFetch: None,
    xUnfetch: None,
};

unsafe extern "C" fn x_open(
    vfs: *mut ffi::sqlite3_vfs,
    _name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let f = file as *mut VfsFile;
    // SAFETY: SQLite passes a buffer of szOsFile bytes; pMethods must be null on failure.
    unsafe { (*f).base.pMethods = std::ptr::null() };
    let shared = unsafe { (*vfs).pAppData as *const Shared };
    let which = if flags & ffi::SQLITE_OPEN_MAIN_DB != 0 {
        LibraryFile::Main
    } else if flags & ffi::SQLITE_OPEN_WAL != 0 {
        // Opened (as SQLite would create it) even when the phone has none: then it is empty.
        LibraryFile::Wal
    } else {
        // A journal, a temporary file: nothing else exists.
        return ffi::SQLITE_CANTOPEN;
    };
    // SAFETY: as above; the fields are plain data.
    unsafe {
        (*f).file = which;
        (*f).shared = shared;
        (*f).base.pMethods = &IO_METHODS;
        if !out_flags.is_null() {
            *out_flags = ffi::SQLITE_OPEN_READONLY
                | (flags & (ffi::SQLITE_OPEN_MAIN_DB | ffi::SQLITE_OPEN_WAL));
        }
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_delete(_: *mut ffi::sqlite3_vfs, _: *const c_char, _: c_int) -> c_int {
    ffi::SQLITE_IOERR_DELETE
}

unsafe extern "C" fn x_access(
    vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    _flags: c_int,
    out: *mut c_int,
) -> c_int {
    // SAFETY: SQLite passes a NUL-terminated name and a result pointer.
    let name = unsafe { CStr::from_ptr(name) }.to_bytes();
    let has_wal = unsafe { (*((*vfs).pAppData as *const Shared)).has_wal };
    unsafe { *out = c_int::from(name.ends_with(b"-wal") && has_wal) };
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_full_pathname(
    _: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    n_out: c_int,
    out: *mut c_char,
) -> c_int {
    // SAFETY: NUL-terminated input, an output buffer of n_out bytes.
    let name = unsafe { CStr::from_ptr(name) }.to_bytes_with_nul();
    if name.len() > usize::try_from(n_out).unwrap_or(0) {
        return ffi::SQLITE_CANTOPEN;
    }
    unsafe { std::ptr::copy_nonoverlapping(name.as_ptr() as *const c_char, out, name.len()) };
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_dl_open(_: *mut ffi::sqlite3_vfs, _: *const c_char) -> *mut c_void {
    std::ptr::null_mut()
}

unsafe extern "C" fn x_dl_error(_: *mut ffi::sqlite3_vfs, n: c_int, out: *mut c_char) {
    if n > 0 {
        // SAFETY: a buffer of n bytes.
        unsafe { *out = 0 };
    }
}

unsafe extern "C" fn x_dl_sym(
    _: *mut ffi::sqlite3_vfs,
    _: *mut c_void,
    _: *const c_char,
) -> Option<unsafe extern "C" fn(*mut ffi::sqlite3_vfs, *mut c_void, *const c_char)> {
    None
}

unsafe extern "C" fn x_dl_close(_: *mut ffi::sqlite3_vfs, _: *mut c_void) {}

unsafe extern "C" fn x_randomness(_: *mut ffi::sqlite3_vfs, n: c_int, out: *mut c_char) -> c_int {
    let d = default_vfs();
    // SAFETY: the default VFS's own method, with SQLite's arguments.
    unsafe { (*d).xRandomness.map_or(0, |f| f(d, n, out)) }
}

unsafe extern "C" fn x_sleep(_: *mut ffi::sqlite3_vfs, micros: c_int) -> c_int {
    let d = default_vfs();
    unsafe { (*d).xSleep.map_or(0, |f| f(d, micros)) }
}

unsafe extern "C" fn x_current_time(_: *mut ffi::sqlite3_vfs, out: *mut f64) -> c_int {
    let d = default_vfs();
    unsafe { (*d).xCurrentTime.map_or(ffi::SQLITE_ERROR, |f| f(d, out)) }
}

unsafe extern "C" fn x_current_time_int64(_: *mut ffi::sqlite3_vfs, out: *mut i64) -> c_int {
    let d = default_vfs();
    unsafe {
        (*d).xCurrentTimeInt64
            .map_or(ffi::SQLITE_ERROR, |f| f(d, out))
    }
}

unsafe extern "C" fn x_get_last_error(_: *mut ffi::sqlite3_vfs, _: c_int, _: *mut c_char) -> c_int {
    0
}

unsafe extern "C" fn x_close(_: *mut ffi::sqlite3_file) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    let f = file as *mut VfsFile;
    // SAFETY: a file opened by x_open, whose `shared` outlives every connection on the VFS.
    let (which, shared) = unsafe { ((*f).file, &*(*f).shared) };
    let (Ok(len), Ok(offset)) = (usize::try_from(amount), u64::try_from(offset)) else {
        return ffi::SQLITE_IOERR_READ;
    };
    // SAFETY: SQLite's buffer of `amount` bytes.
    let buf = unsafe { std::slice::from_raw_parts_mut(buf as *mut u8, len) };
    guarded(ffi::SQLITE_IOERR_READ, || {
        match lock(&shared.reader).read(which, buf, offset) {
            Ok(true) => ffi::SQLITE_OK,
            Ok(false) => ffi::SQLITE_IOERR_SHORT_READ,
            Err(e) => {
                lock(&shared.error).get_or_insert(e);
                ffi::SQLITE_IOERR_READ
            }
        }
    })
}

unsafe extern "C" fn x_write(
    _: *mut ffi::sqlite3_file,
    _: *const c_void,
    _: c_int,
    _: ffi::sqlite3_int64,
) -> c_int {
    ffi::SQLITE_READONLY
}

unsafe extern "C" fn x_truncate(_: *mut ffi::sqlite3_file, _: ffi::sqlite3_int64) -> c_int {
    ffi::SQLITE_READONLY
}

unsafe extern "C" fn x_sync(_: *mut ffi::sqlite3_file, _: c_int) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_file_size(
    file: *mut ffi::sqlite3_file,
    out: *mut ffi::sqlite3_int64,
) -> c_int {
    let f = file as *mut VfsFile;
    // SAFETY: as in x_read.
    let (which, shared) = unsafe { ((*f).file, &*(*f).shared) };
    guarded(ffi::SQLITE_IOERR_FSTAT, || {
        let size = lock(&shared.reader).size(which);
        // SAFETY: SQLite's result pointer.
        unsafe { *out = i64::try_from(size).unwrap_or(i64::MAX) };
        ffi::SQLITE_OK
    })
}

unsafe extern "C" fn x_lock(_: *mut ffi::sqlite3_file, _: c_int) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_check_reserved_lock(_: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    // SAFETY: SQLite's result pointer.
    unsafe { *out = 0 };
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_file_control(_: *mut ffi::sqlite3_file, _: c_int, _: *mut c_void) -> c_int {
    ffi::SQLITE_NOTFOUND
}

unsafe extern "C" fn x_sector_size(_: *mut ffi::sqlite3_file) -> c_int {
    4096
}

unsafe extern "C" fn x_device_characteristics(_: *mut ffi::sqlite3_file) -> c_int {
    0
}
