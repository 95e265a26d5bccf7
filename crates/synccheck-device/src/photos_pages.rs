//! The pages of Photos.sqlite and its `-wal` as SQLite asks for them, read from the phone in
//! place: a bounded cache of 4 KiB chunks in front of a [`Fetch`] (AFC on a phone, bytes in
//! memory in tests), and the read-ahead that keeps round trips from dominating.
//!
//! Two kinds of read-ahead, because SQLite reads in two ways:
//! - **Sequential**: the `-wal` is read from start to end when SQLite rebuilds its index, and
//!   a table scan over pages laid out in order reads on. A miss right where the last fetch of
//!   that file ended doubles the window read beyond it (up to [`MAX_SEQUENTIAL_CHUNKS`]); any
//!   other miss reads only what was asked.
//! - **B-tree hints**: the asset rows are interleaved with other tables, so a table scan jumps
//!   around the file. Every interior page of a table b-tree SQLite reads names the children it
//!   will visit next, in order; a miss on one of them fetches it and the siblings after it in
//!   one pipelined batch (a window that doubles while SQLite keeps walking forward in that list,
//!   up to [`MAX_HINT_PAGES`]). The pages are only hints: they are parsed as untrusted bytes,
//!   and a wrong hint costs bytes, never a wrong answer (SQLite reads what it reads).
//!
//! Memory is bounded by [`CACHE_BYTES`] and [`MAX_HINTS`], never by the library's size.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

/// The unit of the cache and of every fetch: SQLite's default page size, and Photos.sqlite's.
pub const CHUNK: u64 = 4096;

/// Bytes of fetched chunks of the main file kept (first in, first out). SQLite keeps its own
/// cache of the pages it uses most on top of this.
pub const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// Bytes of the `-wal` kept, apart from the main file's: SQLite reads the whole `-wal` once
/// when it opens it (to rebuild its index), then reads the newest pages from it wherever the
/// summary needs them. A `-wal` of up to this size (a real one is a few MB to tens of MB) is
/// then read from the phone once.
pub const WAL_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// Sequential read-ahead grows to this many chunks (4 MiB, pymobiledevice3's read size).
pub const MAX_SEQUENTIAL_CHUNKS: u64 = 1024;

/// A b-tree hint window starts at this many sibling pages and doubles up to [`MAX_HINT_PAGES`]
/// while SQLite keeps walking forward in the list. A first miss on the first child is how a
/// table scan enters each interior page, so it starts at [`SCAN_HINT_PAGES`] (1 MiB of 4 KiB
/// pages); a first miss anywhere else is more likely a look-up, and starts small.
pub const FIRST_HINT_PAGES: usize = 32;
pub const SCAN_HINT_PAGES: usize = 256;
pub const MAX_HINT_PAGES: usize = 1024;

/// One fetch reads at most this many separate ranges (each one seek and one read).
pub const MAX_RANGES_PER_FETCH: usize = 256;

/// One range is at most this long: the read size phones are known to honour.
pub const MAX_RANGE_BYTES: u64 = 4 * 1024 * 1024;

/// Child page numbers remembered from interior pages (about 12 bytes each).
pub const MAX_HINTS: usize = 256 * 1024;

/// Which of the library's two files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LibraryFile {
    Main,
    Wal,
}

impl LibraryFile {
    /// Its slot in the arrays kept per file: the main file first.
    pub(crate) fn index(self) -> usize {
        match self {
            LibraryFile::Main => 0,
            LibraryFile::Wal => 1,
        }
    }
}

/// Why bytes could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The side that reads the phone is gone (the scan stopped, or the read failed there).
    #[error("the read from the iPhone was abandoned")]
    Gone,
    #[error("{0}")]
    Failed(String),
}

/// Where the bytes come from.
pub trait Fetch: Send {
    /// The bytes of each `(offset, length)` range of `file`; a range may come back shorter at
    /// the end of the file, never longer. `estimate` is the reader's current guess of the
    /// bytes the whole summary will read (for a progress bar).
    fn fetch(
        &mut self,
        file: LibraryFile,
        ranges: &[(u64, u64)],
        estimate: u64,
    ) -> Result<Vec<Vec<u8>>, FetchError>;
}

/// Both files in memory, counting what is fetched: for tests and the fuzz target.
#[derive(Debug, Default, Clone)]
pub struct InMemory {
    pub main: Vec<u8>,
    pub wal: Option<Vec<u8>>,
    pub counters: std::sync::Arc<FetchCounters>,
}

/// What a [`Fetch`] was asked for: ranges (each a request or two on AFC) and bytes.
#[derive(Debug, Default)]
pub struct FetchCounters {
    pub fetches: std::sync::atomic::AtomicU64,
    pub ranges: std::sync::atomic::AtomicU64,
    pub bytes: std::sync::atomic::AtomicU64,
}

impl Fetch for InMemory {
    fn fetch(
        &mut self,
        file: LibraryFile,
        ranges: &[(u64, u64)],
        _estimate: u64,
    ) -> Result<Vec<Vec<u8>>, FetchError> {
        use std::sync::atomic::Ordering::Relaxed;
        let data = match file {
            LibraryFile::Main => &self.main,
            LibraryFile::Wal => self.wal.as_ref().ok_or(FetchError::Gone)?,
        };
        self.counters.fetches.fetch_add(1, Relaxed);
        let out: Vec<Vec<u8>> = ranges
            .iter()
            .map(|&(offset, len)| {
                let start = offset.min(data.len() as u64) as usize;
                let end = offset.saturating_add(len).min(data.len() as u64) as usize;
                data[start..end].to_vec()
            })
            .collect();
        self.counters.ranges.fetch_add(ranges.len() as u64, Relaxed);
        self.counters
            .bytes
            .fetch_add(out.iter().map(|b| b.len() as u64).sum(), Relaxed);
        Ok(out)
    }
}

/// Chunks fetched, first in first out, bounded in bytes for each file.
#[derive(Default)]
struct Cache {
    /// The bytes, and whether SQLite has read them yet (read-ahead it never reads is waste).
    chunks: HashMap<(LibraryFile, u64), (Vec<u8>, bool)>,
    order: [VecDeque<u64>; 2],
    bytes: [usize; 2],
}

impl Cache {
    fn get(&self, file: LibraryFile, chunk: u64) -> Option<&[u8]> {
        self.chunks.get(&(file, chunk)).map(|(d, _)| d.as_slice())
    }

    /// Marks a chunk read by SQLite; true the first time (a read-ahead chunk that was used).
    fn mark_used(&mut self, file: LibraryFile, chunk: u64) -> bool {
        match self.chunks.get_mut(&(file, chunk)) {
            Some((_, used)) if !*used => {
                *used = true;
                true
            }
            _ => false,
        }
    }

    fn contains(&self, file: LibraryFile, chunk: u64) -> bool {
        self.chunks.contains_key(&(file, chunk))
    }

    #[cfg(test)]
    fn held(&self) -> usize {
        self.bytes.iter().sum()
    }

    fn insert(&mut self, file: LibraryFile, chunk: u64, data: Vec<u8>, used: bool) {
        let i = file.index();
        let limit = match file {
            LibraryFile::Main => CACHE_BYTES,
            LibraryFile::Wal => WAL_CACHE_BYTES,
        };
        let len = data.len();
        if let Some((old, _)) = self.chunks.insert((file, chunk), (data, used)) {
            self.bytes[i] -= old.len();
        } else {
            self.order[i].push_back(chunk);
        }
        self.bytes[i] += len;
        while self.bytes[i] > limit {
            let Some(old) = self.order[i].pop_front() else {
                break;
            };
            if let Some((old, _)) = self.chunks.remove(&(file, old)) {
                self.bytes[i] -= old.len();
            }
        }
    }
}

/// Where the last fetch of a file ended, and how far sequential read-ahead reaches now.
#[derive(Default, Clone, Copy)]
struct Sequential {
    next: Option<u64>,
    window: u64,
}

/// The children of one interior page, in the order SQLite visits them.
struct HintList {
    children: Vec<u32>,
    window: usize,
    last_miss: Option<usize>,
}

/// Child pages learned from interior table pages, bounded by [`MAX_HINTS`].
#[derive(Default)]
struct Hints {
    lists: HashMap<u32, HintList>,
    /// child → (parent, index in the parent's list)
    position: HashMap<u32, (u32, usize)>,
    order: VecDeque<u32>,
    held: usize,
    /// Distinct pages ever hinted, for the progress estimate.
    seen: HashSet<u32>,
}

impl Hints {
    fn add(&mut self, parent: u32, children: Vec<u32>) {
        if self.lists.contains_key(&parent) || children.is_empty() {
            return;
        }
        while self.held + children.len() > MAX_HINTS {
            let Some(old) = self.order.pop_front() else {
                return;
            };
            if let Some(list) = self.lists.remove(&old) {
                self.held -= list.children.len();
                for c in list.children {
                    if self.position.get(&c).is_some_and(|(p, _)| *p == old) {
                        self.position.remove(&c);
                    }
                }
            }
        }
        for (i, c) in children.iter().enumerate() {
            self.position.insert(*c, (parent, i));
            if self.seen.len() < MAX_HINTS {
                self.seen.insert(*c);
            }
        }
        self.held += children.len();
        self.order.push_back(parent);
        self.lists.insert(
            parent,
            HintList {
                children,
                window: FIRST_HINT_PAGES,
                last_miss: None,
            },
        );
    }

    /// The siblings to fetch with a miss on `page`: those after it in its parent's list.
    fn following(&mut self, page: u32) -> &[u32] {
        let Some(&(parent, index)) = self.position.get(&page) else {
            return &[];
        };
        let Some(list) = self.lists.get_mut(&parent) else {
            return &[];
        };
        match list.last_miss {
            Some(last) if index > last => list.window = (list.window * 2).min(MAX_HINT_PAGES),
            Some(_) => list.window = FIRST_HINT_PAGES,
            None if index == 0 => list.window = SCAN_HINT_PAGES,
            None => {}
        }
        list.last_miss = Some(index);
        let from = (index + 1).min(list.children.len());
        let to = from.saturating_add(list.window).min(list.children.len());
        &list.children[from..to]
    }
}

/// The page reader SQLite's VFS calls into.
pub struct PageReader {
    fetch: Box<dyn Fetch>,
    sizes: [u64; 2],
    cache: Cache,
    sequential: [Sequential; 2],
    hints: Hints,
    page_size: Option<u64>,
    fetched: u64,
    /// Chunks fetched ahead of SQLite's reads, and how many of them it then read.
    ahead_fetched: u64,
    ahead_used: u64,
}

/// The page size an SQLite header (its first 18 bytes or more) gives, if it is a valid one.
fn header_page_size(header: &[u8]) -> Option<u64> {
    let raw = u16::from_be_bytes([*header.get(16)?, *header.get(17)?]);
    let size = if raw == 1 { 65536 } else { u64::from(raw) };
    (size.is_power_of_two() && (512..=65536).contains(&size)).then_some(size)
}

/// The child pages of an interior table b-tree page (type 5), in visiting order: each cell's
/// left child, then the right-most. `header_at` is 100 on page 1, 0 elsewhere. Anything out
/// of bounds ends the list: these are hints, not facts.
fn interior_children(page: &[u8], header_at: usize) -> Vec<u32> {
    let byte = |i: usize| page.get(i).copied();
    let u16_at = |i: usize| Some(u16::from_be_bytes([byte(i)?, byte(i + 1)?]));
    let u32_at = |i: usize| {
        Some(u32::from_be_bytes([
            byte(i)?,
            byte(i + 1)?,
            byte(i + 2)?,
            byte(i + 3)?,
        ]))
    };
    if byte(header_at) != Some(5) {
        return Vec::new();
    }
    let Some(cells) = u16_at(header_at + 3) else {
        return Vec::new();
    };
    let mut children = Vec::with_capacity(usize::from(cells) + 1);
    for i in 0..usize::from(cells) {
        let Some(cell) = u16_at(header_at + 12 + 2 * i) else {
            break;
        };
        match u32_at(usize::from(cell)) {
            Some(child) if child > 0 => children.push(child),
            _ => break,
        }
    }
    if let Some(right) = u32_at(header_at + 8).filter(|r| *r > 0) {
        children.push(right);
    }
    children
}

impl PageReader {
    /// A reader of a main file of `main_size` bytes and (if the phone has one) a `-wal` of
    /// `wal_size`: the sizes the phone gave before the read, which SQLite is told.
    pub fn new(fetch: Box<dyn Fetch>, main_size: u64, wal_size: Option<u64>) -> Self {
        PageReader {
            fetch,
            sizes: [main_size, wal_size.unwrap_or(0)],
            cache: Cache::default(),
            sequential: Default::default(),
            hints: Hints::default(),
            page_size: None,
            fetched: 0,
            ahead_fetched: 0,
            ahead_used: 0,
        }
    }

    pub fn size(&self, file: LibraryFile) -> u64 {
        self.sizes[file.index()]
    }

    /// Bytes fetched so far.
    pub fn fetched(&self) -> u64 {
        self.fetched
    }

    /// Chunks fetched ahead of SQLite's reads, and how many of those it read: what the
    /// read-ahead gained and what it wasted.
    pub fn read_ahead(&self) -> (u64, u64) {
        (self.ahead_fetched, self.ahead_used)
    }

    /// Fills `buf` from `offset`. `Ok(false)` is a short read: the bytes past the end of the
    /// file (as the phone gave it) are zeros, as SQLite expects.
    pub fn read(
        &mut self,
        file: LibraryFile,
        buf: &mut [u8],
        offset: u64,
    ) -> Result<bool, FetchError> {
        let end = offset.saturating_add(buf.len() as u64);
        let available = end.min(self.size(file));
        if offset < available {
            let first = offset / CHUNK;
            let last = (available - 1) / CHUNK;
            let missing: Vec<u64> = (first..=last)
                .filter(|c| !self.cache.contains(file, *c))
                .collect();
            if !missing.is_empty() {
                self.fill(file, &missing, offset, buf.len())?;
            }
        }
        let mut full = true;
        let mut pos = offset;
        while pos < end {
            let chunk = pos / CHUNK;
            let within = (pos % CHUNK) as usize;
            let n = (CHUNK - pos % CHUNK).min(end - pos) as usize;
            let at = (pos - offset) as usize;
            let out = &mut buf[at..at + n];
            if self.cache.mark_used(file, chunk) {
                self.ahead_used += 1;
            }
            let have = self
                .cache
                .get(file, chunk)
                .map(|d| d.get(within..).unwrap_or(&[]))
                .unwrap_or(&[]);
            let k = have.len().min(n);
            out[..k].copy_from_slice(&have[..k]);
            out[k..].fill(0);
            full &= k == n;
            pos += n as u64;
        }
        if full {
            self.learn(file, offset, buf);
        }
        Ok(full)
    }

    /// Fetches the `missing` chunks of a read at `offset` of `len` bytes, with read-ahead.
    fn fill(
        &mut self,
        file: LibraryFile,
        missing: &[u64],
        offset: u64,
        len: usize,
    ) -> Result<(), FetchError> {
        let size = self.size(file);
        let chunks_in_file = size.div_ceil(CHUNK);
        let first = missing[0];
        let last = *missing.last().expect("not empty");
        let mut ahead: BTreeSet<u64> = BTreeSet::new();

        let seq = &mut self.sequential[file.index()];
        if seq.next == Some(first) {
            seq.window = (seq.window.max(1) * 2).min(MAX_SEQUENTIAL_CHUNKS);
            ahead.extend((last + 1..last + 1 + seq.window).take_while(|c| *c < chunks_in_file));
        } else {
            seq.window = 0;
        }

        // A page read of the main file: its siblings in the b-tree come with it.
        if let (LibraryFile::Main, Some(ps)) = (file, self.page_size) {
            if len as u64 == ps && offset % ps == 0 {
                let page = offset / ps + 1;
                if let Ok(page) = u32::try_from(page) {
                    let per_page = ps.div_ceil(CHUNK);
                    for sibling in self.hints.following(page) {
                        let start = (u64::from(*sibling) - 1) * ps / CHUNK;
                        ahead.extend((start..start + per_page).take_while(|c| *c < chunks_in_file));
                    }
                }
            }
        }

        let needed = ranges_of(missing.iter().copied());
        let mut ranges = needed.clone();
        let extra = ahead
            .into_iter()
            .filter(|c| !self.cache.contains(file, *c) && !(first..=last).contains(c));
        for r in ranges_of(extra) {
            if ranges.len() >= MAX_RANGES_PER_FETCH {
                break;
            }
            ranges.push(r);
        }
        let byte_ranges: Vec<(u64, u64)> = ranges
            .iter()
            .map(|&(c, n)| {
                let start = c * CHUNK;
                (start, (n * CHUNK).min(size.saturating_sub(start)))
            })
            .collect();
        let estimate = self.estimate();
        let data = self.fetch.fetch(file, &byte_ranges, estimate)?;
        if data.len() != byte_ranges.len() {
            return Err(FetchError::Failed(format!(
                "{} ranges answered for {} asked",
                data.len(),
                byte_ranges.len()
            )));
        }
        for ((start, want), bytes) in byte_ranges.iter().zip(data) {
            if bytes.len() as u64 > *want {
                return Err(FetchError::Failed("more bytes than asked".into()));
            }
            self.fetched += bytes.len() as u64;
            for (i, piece) in bytes.chunks(CHUNK as usize).enumerate() {
                let chunk = start / CHUNK + i as u64;
                // Chunks of this read are used now; the rest were fetched ahead.
                let asked = (first..=last).contains(&chunk);
                if !asked {
                    self.ahead_fetched += 1;
                }
                self.cache.insert(file, chunk, piece.to_vec(), asked);
            }
        }
        let end = ranges.iter().map(|&(c, n)| c + n).max().unwrap_or(last + 1);
        self.sequential[file.index()].next = Some(end.max(last + 1));
        Ok(())
    }

    /// What the whole read may come to: what was fetched, the pages the b-trees named so
    /// far, and the `-wal`.
    fn estimate(&self) -> u64 {
        let hinted = self.hints.seen.len() as u64 * self.page_size.unwrap_or(CHUNK);
        self.fetched
            .max(hinted.saturating_add(self.sizes[1]))
            .min(self.sizes[0].saturating_add(self.sizes[1]))
            .max(self.fetched)
    }

    /// Learns the page size from the header and the b-tree hints from a whole page served.
    fn learn(&mut self, file: LibraryFile, offset: u64, buf: &[u8]) {
        if file == LibraryFile::Main && offset == 0 && buf.len() >= 18 {
            self.page_size = header_page_size(buf);
        }
        let Some(ps) = self.page_size else {
            return;
        };
        if buf.len() as u64 != ps {
            return;
        }
        let page = match file {
            LibraryFile::Main if offset % ps == 0 => offset / ps + 1,
            // A frame: 24 bytes of header (the page number first) before the page.
            LibraryFile::Wal => {
                let frame = ps + 24;
                if offset < 32 + 24 || (offset - 32 - 24) % frame != 0 {
                    return;
                }
                let header = offset - 24;
                let mut number = [0u8; 4];
                let chunk = self.cache.get(file, header / CHUNK).unwrap_or(&[]);
                let within = (header % CHUNK) as usize;
                match chunk.get(within..within + 4) {
                    Some(b) => number.copy_from_slice(b),
                    // Straddles two chunks: not worth a hint.
                    None => return,
                }
                u64::from(u32::from_be_bytes(number))
            }
            _ => return,
        };
        let Ok(page) = u32::try_from(page) else {
            return;
        };
        let children = interior_children(buf, if page == 1 { 100 } else { 0 });
        self.hints.add(page, children);
    }
}

/// Sorted chunk numbers as `(first, count)` runs of at most [`MAX_RANGE_BYTES`].
fn ranges_of(chunks: impl IntoIterator<Item = u64>) -> Vec<(u64, u64)> {
    let most = MAX_RANGE_BYTES / CHUNK;
    let mut out: Vec<(u64, u64)> = Vec::new();
    for c in chunks {
        match out.last_mut() {
            Some((start, n)) if *start + *n == c && *n < most => *n += 1,
            _ => out.push((c, 1)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::Relaxed;

    fn reader(main: Vec<u8>) -> (PageReader, std::sync::Arc<FetchCounters>) {
        let size = main.len() as u64;
        let mem = InMemory {
            main,
            ..Default::default()
        };
        let counters = mem.counters.clone();
        (PageReader::new(Box::new(mem), size, None), counters)
    }

    #[test]
    fn reads_past_the_end_are_short_and_zero_filled() {
        let (mut r, _) = reader(vec![7u8; 5000]);
        let mut buf = vec![1u8; 200];
        assert!(r.read(LibraryFile::Main, &mut buf, 0).unwrap());
        assert_eq!(buf, vec![7u8; 200]);
        assert!(!r.read(LibraryFile::Main, &mut buf, 4900).unwrap());
        assert_eq!(&buf[..100], &[7u8; 100]);
        assert_eq!(&buf[100..], &[0u8; 100]);
        assert!(!r.read(LibraryFile::Main, &mut buf, 1 << 40).unwrap());
    }

    #[test]
    fn sequential_reads_grow_the_window_and_random_ones_do_not() {
        let (mut r, counters) = reader(vec![0u8; 64 << 20]);
        let mut buf = vec![0u8; 4096];
        for page in 0..4096u64 {
            r.read(LibraryFile::Main, &mut buf, page * 4096).unwrap();
        }
        // 16 MiB read in order: 1, 2, 4, … chunks, then 4 MiB at a time.
        let fetches = counters.fetches.load(Relaxed);
        assert!(fetches < 20, "{fetches}");
        let (mut r, counters) = reader(vec![0u8; 64 << 20]);
        for page in (0..100u64).map(|i| i * 37 + 5) {
            r.read(LibraryFile::Main, &mut buf, page * 4096).unwrap();
        }
        assert_eq!(counters.bytes.load(Relaxed), 100 * 4096);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let (mut r, _) = reader(vec![0u8; 3 * CACHE_BYTES]);
        let mut buf = vec![0u8; 4096];
        for page in 0..(3 * CACHE_BYTES as u64 / 4096) {
            r.read(LibraryFile::Main, &mut buf, page * 4096).unwrap();
        }
        assert!(r.cache.held() <= CACHE_BYTES);
    }

    #[test]
    fn interior_pages_name_their_children_and_garbage_names_none() {
        let mut page = vec![0u8; 4096];
        page[0] = 5;
        page[3..5].copy_from_slice(&2u16.to_be_bytes());
        page[8..12].copy_from_slice(&99u32.to_be_bytes());
        page[12..14].copy_from_slice(&1000u16.to_be_bytes());
        page[14..16].copy_from_slice(&2000u16.to_be_bytes());
        page[1000..1004].copy_from_slice(&7u32.to_be_bytes());
        page[2000..2004].copy_from_slice(&8u32.to_be_bytes());
        assert_eq!(interior_children(&page, 0), vec![7, 8, 99]);
        // A cell pointer past the page ends the list; a leaf or anything else names none.
        page[14..16].copy_from_slice(&65000u16.to_be_bytes());
        assert_eq!(interior_children(&page, 0), vec![7, 99]);
        page[0] = 13;
        assert!(interior_children(&page, 0).is_empty());
        assert!(interior_children(&[5], 0).is_empty());
        assert!(interior_children(&[], 100).is_empty());
    }

    /// Page 1: a header with 4096-byte pages; page 2: an interior page naming 40 leaves
    /// scattered one page in three. Returns the file and the leaves.
    fn one_interior_page() -> (Vec<u8>, Vec<u32>) {
        let mut main = vec![0u8; 200 * 4096];
        main[..16].copy_from_slice(b"SQLite format 3\0");
        main[16..18].copy_from_slice(&4096u16.to_be_bytes());
        let interior = &mut main[4096..8192];
        interior[0] = 5;
        let leaves: Vec<u32> = (0..40).map(|i| 10 + 3 * i).collect();
        interior[3..5].copy_from_slice(&39u16.to_be_bytes());
        for (i, leaf) in leaves[..39].iter().enumerate() {
            let cell = 1000 + 8 * i;
            interior[12 + 2 * i..14 + 2 * i].copy_from_slice(&(cell as u16).to_be_bytes());
            interior[cell..cell + 4].copy_from_slice(&leaf.to_be_bytes());
        }
        interior[8..12].copy_from_slice(&leaves[39].to_be_bytes());
        (main, leaves)
    }

    /// The header and the interior page, as SQLite reads them first.
    fn read_to_the_interior_page(r: &mut PageReader) {
        let mut header = [0u8; 100];
        r.read(LibraryFile::Main, &mut header, 0).unwrap();
        let mut page = vec![0u8; 4096];
        r.read(LibraryFile::Main, &mut page, 4096).unwrap();
    }

    #[test]
    fn a_scan_of_hinted_pages_fetches_them_in_one_go() {
        let (main, leaves) = one_interior_page();
        let (mut r, counters) = reader(main);
        read_to_the_interior_page(&mut r);
        let before = counters.fetches.load(Relaxed);
        let (ahead_before, _) = r.read_ahead();
        let mut page = vec![0u8; 4096];
        for leaf in &leaves {
            r.read(LibraryFile::Main, &mut page, u64::from(leaf - 1) * 4096)
                .unwrap();
        }
        assert_eq!(counters.fetches.load(Relaxed) - before, 1);
        let (ahead, used) = r.read_ahead();
        assert_eq!(ahead - ahead_before, 39);
        assert_eq!(used, 39, "every leaf fetched ahead was read");
    }

    #[test]
    fn a_look_up_among_hinted_pages_fetches_a_few_siblings() {
        let (main, leaves) = one_interior_page();
        let (mut r, counters) = reader(main);
        read_to_the_interior_page(&mut r);
        let before = counters.fetches.load(Relaxed);
        let bytes_before = counters.bytes.load(Relaxed);
        let mut page = vec![0u8; 4096];
        r.read(
            LibraryFile::Main,
            &mut page,
            u64::from(leaves[3] - 1) * 4096,
        )
        .unwrap();
        assert_eq!(counters.fetches.load(Relaxed) - before, 1);
        assert_eq!(
            counters.bytes.load(Relaxed) - bytes_before,
            (1 + FIRST_HINT_PAGES as u64) * 4096
        );
    }
}
