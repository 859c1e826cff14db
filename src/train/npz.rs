//! NumPy's `.npz` format as checkpoints use it: a zip archive of one `.npy`
//! file per array, stored (`np.savez`, what [`Saver`](super::Saver)
//! writes) or deflated (`np.savez_compressed`).
//!
//! Invariant: no size a file claims is trusted. Before anything is
//! allocated for a member, the bytes its `.npy` header claims (shape times
//! item size) must equal the size the zip declares for the member, and
//! that size must fit in the archive's real bytes (for a deflated member,
//! its compressed bytes). The data is then read up to the claim and no
//! further into memory that grows only as bytes arrive, so a lying
//! deflated member costs no more than it inflates to. The header is parsed
//! without recursion. Every problem is an [`Error::BadFile`] naming the
//! file and the array.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::value::Value;
use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::{NpzWriter, WriteNpyError, WriteNpzError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use zip::result::ZipError;
use zip::{CompressionMethod, ZipArchive};

/// The largest `.npy` header read: numpy writes a few hundred bytes (and
/// `np.load` refuses more than 10,000 by default).
const MAX_HEADER: u64 = 1 << 16;

/// Bytes read (and decoded) at a time.
const CHUNK: usize = 1 << 16;

/// An open `.npz` archive; `label` names it in errors.
pub(super) struct NpzFile<R> {
    zip: ZipArchive<R>,
    /// The archive's real length in bytes.
    len: u64,
    label: String,
}

impl<R: Read + Seek> NpzFile<R> {
    /// Opens the archive: reads its zip directory, nothing else.
    pub(super) fn new(mut reader: R, label: &str) -> Result<Self> {
        let bad =
            |e: &dyn std::fmt::Display| bad_file(label, format!("not a readable .npz file: {e}"));
        let len = reader.seek(SeekFrom::End(0)).map_err(|e| bad(&e))?;
        reader.seek(SeekFrom::Start(0)).map_err(|e| bad(&e))?;
        let zip = ZipArchive::new(reader).map_err(|e| bad(&e))?;
        Ok(NpzFile {
            zip,
            len,
            label: label.to_string(),
        })
    }

    /// The arrays' names (member names without `.npy`, as `np.load` shows them).
    pub(super) fn names(&self) -> Vec<String> {
        self.zip
            .file_names()
            .map(|n| n.strip_suffix(".npy").unwrap_or(n).to_string())
            .collect()
    }

    /// Reads array `key` (member `key.npy`, or `key`).
    pub(super) fn read(&mut self, key: &str) -> Result<Value> {
        let bad = |reason: String| bad_file(&self.label, format!("array `{key}`: {reason}"));
        let index = self
            .zip
            .index_for_name(&format!("{key}.npy"))
            .or_else(|| self.zip.index_for_name(key))
            .ok_or_else(|| bad("not in the archive".into()))?;
        let mut member = self
            .zip
            .by_index(index)
            .map_err(|e| bad(format!("unreadable zip member: {e}")))?;
        let declared = member.size();
        let compressed = member.compressed_size();
        if compressed > self.len {
            return Err(bad(format!(
                "the zip directory declares {compressed} bytes for it, but the archive holds {} bytes",
                self.len
            )));
        }
        if member.compression() == CompressionMethod::Stored && declared != compressed {
            return Err(bad(format!(
                "the zip directory declares {declared} bytes for it but stores {compressed}"
            )));
        }
        let (header, header_len) = read_header(&mut member, declared).map_err(bad)?;
        let holds = declared - header_len;
        let claimed = header.data_bytes().map_err(bad)?;
        if claimed != holds {
            return Err(bad(format!(
                "its header claims shape {} of {}, {} elements ({claimed} bytes), but the member holds {holds} bytes of data",
                crate::dtype::fmt_dims(&header.shape),
                header.dtype,
                header.elements().unwrap_or(0),
            )));
        }
        // Nothing is reserved beyond what the archive could hold.
        let reserve = usize::try_from(self.len).unwrap_or(usize::MAX);
        header.read_data(&mut member, reserve).map_err(bad)
    }
}

fn bad_file(label: &str, reason: String) -> Error {
    Error::BadFile {
        path: label.to_string(),
        reason,
    }
}

/// Parses a `.npy` descr such as `<f4`: the dtype, and whether it is
/// big-endian.
fn parse_descr(descr: &str) -> std::result::Result<(DType, bool), String> {
    let (order, code) = descr.split_at(descr.len().min(1));
    let dtype = match code {
        "f4" => DType::Float32,
        "f8" => DType::Float64,
        "i4" => DType::Int32,
        "i8" => DType::Int64,
        "b1" => DType::Bool,
        _ => {
            return Err(format!(
                "its dtype `{descr}` is not one of float32, float64, int32, int64, bool"
            ))
        }
    };
    let big = match order {
        "<" | "|" => false,
        ">" => true,
        "=" => cfg!(target_endian = "big"),
        _ => return Err(format!("its dtype `{descr}` has no byte order")),
    };
    Ok((dtype, big))
}

/// Bytes per element of `dtype` in a `.npy` file.
fn item_size(dtype: DType) -> usize {
    match dtype {
        DType::Bool => 1,
        DType::Float32 | DType::Int32 => 4,
        DType::Float64 | DType::Int64 => 8,
    }
}

/// What a `.npy` header says.
#[derive(Debug)]
struct Header {
    dtype: DType,
    big_endian: bool,
    fortran_order: bool,
    shape: Vec<usize>,
}

impl Header {
    fn elements(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
    }

    /// The data's size in bytes as the header claims it.
    fn data_bytes(&self) -> std::result::Result<u64, String> {
        self.elements()
            .and_then(|n| n.checked_mul(item_size(self.dtype)))
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| {
                format!(
                    "its header claims shape {} of {}, whose size in bytes overflows",
                    crate::dtype::fmt_dims(&self.shape),
                    self.dtype
                )
            })
    }

    /// Reads the data the header claims (which the caller checked against
    /// the member's size), reserving at most `reserve` bytes up front.
    fn read_data(&self, src: &mut impl Read, reserve: usize) -> std::result::Result<Value, String> {
        let reserve = reserve / item_size(self.dtype);
        Ok(match self.dtype {
            DType::Float32 => Value::F32(self.numbers(src, reserve, f32::from_le_bytes)?),
            DType::Float64 => Value::F64(self.numbers(src, reserve, f64::from_le_bytes)?),
            DType::Int32 => Value::I32(self.numbers(src, reserve, i32::from_le_bytes)?),
            DType::Int64 => Value::I64(self.numbers(src, reserve, i64::from_le_bytes)?),
            DType::Bool => {
                let n = self.elements().unwrap_or(0);
                let data = read_elements(src, n, reserve, |b: &[u8; 1]| match b {
                    [0] => Some(false),
                    [1] => Some(true),
                    _ => None,
                })?;
                Value::Bool(self.array(data)?)
            }
        })
    }

    /// The data as numbers of `N` bytes, each made by `from_le` from its
    /// little-endian bytes.
    fn numbers<T, const N: usize>(
        &self,
        src: &mut impl Read,
        reserve: usize,
        from_le: fn([u8; N]) -> T,
    ) -> std::result::Result<ArrayD<T>, String> {
        let (n, big) = (self.elements().unwrap_or(0), self.big_endian);
        self.array(read_elements(src, n, reserve, |b| {
            Some(from_le(word(b, big)))
        })?)
    }

    fn array<T>(&self, data: Vec<T>) -> std::result::Result<ArrayD<T>, String> {
        ArrayD::from_shape_vec(IxDyn(&self.shape).set_f(self.fortran_order), data)
            .map_err(|e| format!("its data does not fit its shape: {e}"))
    }
}

/// An element's bytes in little-endian order.
fn word<const N: usize>(bytes: &[u8; N], big_endian: bool) -> [u8; N] {
    let mut w = *bytes;
    if big_endian {
        w.reverse();
    }
    w
}

/// Reads `n` elements of `N` bytes, decoding each with `decode` (`None`:
/// not a valid element). The vector starts with at most `reserve` elements
/// and grows only as data arrives; the source must end right after them
/// (reaching its end also makes the zip reader check the CRC).
fn read_elements<T, const N: usize>(
    src: &mut impl Read,
    n: usize,
    reserve: usize,
    decode: impl Fn(&[u8; N]) -> Option<T>,
) -> std::result::Result<Vec<T>, String> {
    let mut out = Vec::with_capacity(n.min(reserve));
    let mut buf = vec![0u8; CHUNK / N * N];
    while out.len() < n {
        let want = ((n - out.len()) * N).min(buf.len());
        let got = fill(src, &mut buf[..want])?;
        for bytes in buf[..got].as_chunks::<N>().0 {
            let element = decode(bytes).ok_or_else(|| {
                format!(
                    "element {} is not a valid {} ({bytes:?})",
                    out.len(),
                    std::any::type_name::<T>()
                )
            })?;
            out.push(element);
        }
        if got < want {
            return Err(format!(
                "its data ends after {} of the {} bytes its header claims",
                out.len() * N + got % N,
                n * N
            ));
        }
    }
    if fill(src, &mut [0u8; 1])? > 0 {
        return Err(format!(
            "more data follows the {} bytes its header claims",
            n * N
        ));
    }
    Ok(out)
}

/// Reads until `buf` is full or the data ends; returns the count.
fn fill(src: &mut impl Read, buf: &mut [u8]) -> std::result::Result<usize, String> {
    let mut filled = 0;
    while filled < buf.len() {
        match src.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("unreadable data: {e}")),
        }
    }
    Ok(filled)
}

/// Reads the `.npy` preamble and header of a member of `declared` bytes;
/// returns the header and its length with the preamble.
fn read_header(src: &mut impl Read, declared: u64) -> std::result::Result<(Header, u64), String> {
    let mut preamble = [0u8; 12];
    let got = fill(src, &mut preamble[..10])?;
    if got < 10 || &preamble[..6] != b"\x93NUMPY" {
        return Err("not a .npy file (no \\x93NUMPY magic)".into());
    }
    let (header_len, start) = match preamble[6] {
        1 => (
            u64::from(u16::from_le_bytes([preamble[8], preamble[9]])),
            10,
        ),
        2 | 3 => {
            if fill(src, &mut preamble[10..])? < 2 {
                return Err("its .npy preamble is truncated".into());
            }
            let len = u32::from_le_bytes([preamble[8], preamble[9], preamble[10], preamble[11]]);
            (u64::from(len), 12)
        }
        v => return Err(format!(".npy format version {v} is not supported")),
    };
    let total = start + header_len;
    if header_len > MAX_HEADER || total > declared {
        return Err(format!(
            "its header claims {header_len} bytes, but the member holds {declared} bytes (and headers are at most {MAX_HEADER})"
        ));
    }
    let mut text = vec![0u8; header_len as usize];
    if fill(src, &mut text)? < text.len() {
        return Err("its .npy header is truncated".into());
    }
    let text = String::from_utf8(text).map_err(|_| "its .npy header is not text".to_string())?;
    Ok((parse_header(&text)?, total))
}

/// Parses the header dict, e.g. `{'descr': '<f4', 'fortran_order': False,
/// 'shape': (2, 3), }`: a flat grammar read left to right, so no nesting
/// can exhaust the stack.
fn parse_header(text: &str) -> std::result::Result<Header, String> {
    let malformed = |what: &str| {
        format!(
            "its .npy header is malformed ({what}): {:.120}",
            text.trim_end()
        )
    };
    let mut p = Cursor {
        s: text.as_bytes(),
        i: 0,
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    if !p.eat(b'{') {
        return Err(malformed("not a dict"));
    }
    let bad_value = |key: &str| malformed(&format!("bad value for `{key}`"));
    while !p.eat(b'}') {
        let key = p.string().ok_or_else(|| malformed("expected a key"))?;
        if !p.eat(b':') {
            return Err(malformed("expected `:`"));
        }
        // A later duplicate wins, as in Python.
        match key.as_str() {
            "descr" => descr = Some(p.string().ok_or_else(|| bad_value("descr"))?),
            "fortran_order" => {
                fortran = Some(p.boolean().ok_or_else(|| bad_value("fortran_order"))?)
            }
            "shape" => shape = Some(p.sizes().ok_or_else(|| bad_value("shape"))?),
            other => return Err(malformed(&format!("unknown key `{other}`"))),
        }
        if !p.eat(b',') && p.peek() != Some(b'}') {
            return Err(malformed("expected `,` or `}`"));
        }
    }
    p.skip_space();
    if p.i != p.s.len() {
        return Err(malformed("text after the dict"));
    }
    let descr = descr.ok_or_else(|| malformed("no `descr`"))?;
    let (dtype, big_endian) = parse_descr(&descr)?;
    Ok(Header {
        dtype,
        big_endian,
        fortran_order: fortran.ok_or_else(|| malformed("no `fortran_order`"))?,
        shape: shape.ok_or_else(|| malformed("no `shape`"))?,
    })
}

/// A position in the header text; every method skips leading spaces.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn skip_space(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let found = self.peek() == Some(c);
        self.i += usize::from(found);
        found
    }

    fn word(&mut self, w: &str) -> bool {
        self.skip_space();
        let found = self.s[self.i..].starts_with(w.as_bytes());
        self.i += if found { w.len() } else { 0 };
        found
    }

    /// A quoted string without escapes.
    fn string(&mut self) -> Option<String> {
        let quote = self.peek().filter(|&q| q == b'\'' || q == b'"')?;
        let body = &self.s[self.i + 1..];
        let end = body.iter().position(|&c| c == quote || c == b'\\')?;
        if body[end] != quote {
            return None;
        }
        self.i += end + 2;
        String::from_utf8(body[..end].to_vec()).ok()
    }

    fn boolean(&mut self) -> Option<bool> {
        if self.word("True") {
            Some(true)
        } else if self.word("False") {
            Some(false)
        } else {
            None
        }
    }

    /// A tuple of non-negative integers: `()`, `(3,)`, `(2, 3)`.
    fn sizes(&mut self) -> Option<Vec<usize>> {
        if !self.eat(b'(') {
            return None;
        }
        let mut dims = Vec::new();
        while !self.eat(b')') {
            self.skip_space();
            let digits = self.s[self.i..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            let dim = std::str::from_utf8(&self.s[self.i..self.i + digits])
                .ok()?
                .parse()
                .ok()?;
            self.i += digits;
            // Python 2's numpy wrote longs: `(3L,)`.
            self.i += usize::from(self.s.get(self.i) == Some(&b'L'));
            dims.push(dim);
            if !self.eat(b',') && self.peek() != Some(b')') {
                return None;
            }
        }
        Some(dims)
    }
}

/// Writes `values` into `sink` as an `.npz` of stored members, numpy's
/// `np.savez` layout, and returns the sink.
///
/// # Errors
/// The sink's I/O errors. After a failed write nothing more reaches the
/// sink, so the zip writer's drop, which finishes an unfinished archive
/// and prints to stderr when that fails, stays quiet.
pub(super) fn write_npz<S: Write + Seek>(sink: S, values: &[(String, Value)]) -> io::Result<S> {
    let mut npz = NpzWriter::new(Quiet::new(sink));
    for (name, value) in values {
        crate::with_array!(value, a => npz.add_array(name.as_str(), a)).map_err(sink_error)?;
    }
    Ok(npz.finish().map_err(sink_error)?.sink)
}

/// The sink's own error under a write error, so that the message says
/// what failed ("No space left on device"), not just "i/o error".
fn sink_error(e: WriteNpzError) -> io::Error {
    match e {
        WriteNpzError::Zip(ZipError::Io(e)) | WriteNpzError::Npy(WriteNpyError::Io(e)) => e,
        other => io::Error::other(other),
    }
}

/// A sink that, after its first error, discards everything, tracking the
/// position it would be at so that the zip writer's arithmetic holds.
struct Quiet<S> {
    sink: S,
    failed: bool,
    pos: u64,
    len: u64,
}

impl<S> Quiet<S> {
    fn new(sink: S) -> Self {
        Quiet {
            sink,
            failed: false,
            pos: 0,
            len: 0,
        }
    }

    /// Passes `result` on, remembering a failure.
    fn check<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        self.failed |= result.is_err();
        result
    }

    fn moved_to(&mut self, pos: u64) -> u64 {
        self.pos = pos;
        self.len = self.len.max(pos);
        pos
    }
}

impl<S: Write> Write for Quiet<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = if self.failed {
            buf.len()
        } else {
            let result = self.sink.write(buf);
            self.check(result)?
        };
        self.moved_to(self.pos.saturating_add(n as u64));
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.failed {
            return Ok(());
        }
        let result = self.sink.flush();
        self.check(result)
    }
}

impl<S: Seek> Seek for Quiet<S> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = if self.failed {
            match to {
                SeekFrom::Start(p) => p,
                SeekFrom::Current(d) => self.pos.saturating_add_signed(d),
                SeekFrom::End(d) => self.len.saturating_add_signed(d),
            }
        } else {
            let result = self.sink.seek(to);
            self.check(result)?
        };
        Ok(self.moved_to(pos))
    }
}
