//! A reader for GGUF files (llama.cpp's model format) and dequantisation of its tensor types.
//!
//! The miner reads GGUF itself for two reasons: mistral.rs panics on a GGUF whose
//! architecture it does not know (so [`crate::inference`] checks `general.architecture`
//! first), and models that mistral.rs cannot load from GGUF (Gemma 3) are converted to a
//! safetensors directory (see [`crate::models::gemma`]).
//!
//! Layout (GGUF v2/v3, little-endian): magic `GGUF`, version `u32`, tensor count `u64`,
//! metadata count `u64`, the metadata key/value pairs, the tensor infos (name, dimensions,
//! type, offset), then the tensor data aligned to `general.alignment` (default 32).
//! Dimensions are listed fastest-varying first: a GGUF `[640, 262144]` is a row-major
//! `[262144, 640]` matrix.
//!
//! Every length read from the file is checked against the file size before anything is
//! allocated, so a truncated or hostile file gives a [`GgufError`], never a panic or an
//! out-of-memory abort.

use std::{
    collections::BTreeMap,
    fs::File,
    io::{BufReader, Read, Seek, SeekFrom},
    path::Path,
};

use half::{bf16, f16};

/// The four bytes every GGUF file starts with.
pub const MAGIC: [u8; 4] = *b"GGUF";

/// Alignment of the tensor data when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// Longest metadata string accepted (the longest real ones are chat templates, a few KiB).
const MAX_STRING_LEN: u64 = 64 << 20;

/// Most dimensions a tensor may have (ggml supports four).
const MAX_DIMS: u32 = 4;

/// Errors reading a GGUF file or dequantising its tensors.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    /// The file could not be read.
    #[error("reading GGUF: {0}")]
    Io(#[from] std::io::Error),
    /// The file does not start with `GGUF`.
    #[error("not a GGUF file (magic {0:02x?})")]
    BadMagic([u8; 4]),
    /// A GGUF version this reader does not know (it reads 2 and 3).
    #[error("unsupported GGUF version {0}")]
    UnsupportedVersion(u32),
    /// The file ends before a length it declares.
    #[error("GGUF truncated or corrupt: {0}")]
    Corrupt(String),
    /// A metadata value type id outside the specification.
    #[error("unknown GGUF metadata value type {0}")]
    UnknownValueType(u32),
    /// A tensor type this reader cannot dequantise.
    #[error("tensor `{name}` has ggml type {type_id}, which is not supported (supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)")]
    UnsupportedTensorType {
        /// The tensor's name.
        name: String,
        /// The ggml type id.
        type_id: u32,
    },
    /// A metadata key the caller needs is absent or has another type.
    #[error("GGUF metadata `{key}` missing or not {expected}")]
    Metadata {
        /// The key.
        key: String,
        /// What was expected, in words.
        expected: &'static str,
    },
    /// A tensor the caller asked for is not in the file.
    #[error("tensor `{0}` not found in GGUF")]
    MissingTensor(String),
}

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `uint8`.
    U8(u8),
    /// `int8`.
    I8(i8),
    /// `uint16`.
    U16(u16),
    /// `int16`.
    I16(i16),
    /// `uint32`.
    U32(u32),
    /// `int32`.
    I32(i32),
    /// `float32`.
    F32(f32),
    /// `bool`.
    Bool(bool),
    /// UTF-8 string (invalid sequences replaced).
    String(String),
    /// `uint64`.
    U64(u64),
    /// `int64`.
    I64(i64),
    /// `float64`.
    F64(f64),
    /// Array of values of one type.
    Array(Vec<Value>),
}

impl Value {
    /// The value as an unsigned integer, if it is a non-negative integer of any width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a signed integer, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::I8(v) => Some(v.into()),
            Value::I16(v) => Some(v.into()),
            Value::I32(v) => Some(v.into()),
            Value::I64(v) => Some(v),
            _ => self.as_u64().and_then(|v| i64::try_from(v).ok()),
        }
    }

    /// The value as a float, if it is a float.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            _ => None,
        }
    }

    /// The value as a string slice, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The value as an array, if it is one.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// The ggml tensor types this reader dequantises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// IEEE half.
    F16,
    /// bfloat16.
    BF16,
    /// 4-bit, blocks of 32, one f16 scale.
    Q4_0,
    /// 4-bit, blocks of 32, f16 scale and minimum.
    Q4_1,
    /// 5-bit, blocks of 32, one f16 scale.
    Q5_0,
    /// 5-bit, blocks of 32, f16 scale and minimum.
    Q5_1,
    /// 8-bit, blocks of 32, one f16 scale.
    Q8_0,
    /// 4-bit k-quant, super-blocks of 256 with 6-bit sub-block scales and minimums.
    Q4K,
    /// 5-bit k-quant, super-blocks of 256 with 6-bit sub-block scales and minimums.
    Q5K,
    /// 6-bit k-quant, super-blocks of 256 with 8-bit sub-block scales.
    Q6K,
}

impl GgmlType {
    /// The type for a ggml type id, if supported.
    pub fn from_id(id: u32) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            6 => Self::Q5_0,
            7 => Self::Q5_1,
            8 => Self::Q8_0,
            12 => Self::Q4K,
            13 => Self::Q5K,
            14 => Self::Q6K,
            30 => Self::BF16,
            _ => return None,
        })
    }

    /// The ggml type id.
    pub fn id(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q5_0 => 6,
            Self::Q5_1 => 7,
            Self::Q8_0 => 8,
            Self::Q4K => 12,
            Self::Q5K => 13,
            Self::Q6K => 14,
            Self::BF16 => 30,
        }
    }

    /// Elements per block.
    pub fn block_elements(self) -> usize {
        match self {
            Self::F32 | Self::F16 | Self::BF16 => 1,
            Self::Q4_0 | Self::Q4_1 | Self::Q5_0 | Self::Q5_1 | Self::Q8_0 => 32,
            Self::Q4K | Self::Q5K | Self::Q6K => 256,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 | Self::BF16 => 2,
            Self::Q4_0 => 18,
            Self::Q4_1 => 20,
            Self::Q5_0 => 22,
            Self::Q5_1 => 24,
            Self::Q8_0 => 34,
            Self::Q4K => 144,
            Self::Q5K => 176,
            Self::Q6K => 210,
        }
    }

    /// Bytes taken by `elements` values, or `None` when `elements` is not a whole number of
    /// blocks or the size overflows.
    pub fn data_len(self, elements: u64) -> Option<u64> {
        let per = self.block_elements() as u64;
        if !elements.is_multiple_of(per) {
            return None;
        }
        (elements / per).checked_mul(self.block_bytes() as u64)
    }
}

/// A tensor's description in the file's tensor table.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// The tensor's GGUF name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Dimensions, fastest-varying first (GGUF order).
    pub dims: Vec<u64>,
    /// The ggml type id as stored (see [`GgmlType::from_id`]).
    pub type_id: u32,
    /// Offset of the data from the start of the data section.
    pub offset: u64,
}

impl TensorInfo {
    /// Number of elements.
    pub fn elements(&self) -> u64 {
        self.dims.iter().product()
    }

    /// The row-major shape (slowest-varying first), as safetensors and candle use.
    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }

    /// The tensor's type, or [`GgufError::UnsupportedTensorType`].
    pub fn ggml_type(&self) -> Result<GgmlType, GgufError> {
        GgmlType::from_id(self.type_id).ok_or_else(|| GgufError::UnsupportedTensorType {
            name: self.name.clone(),
            type_id: self.type_id,
        })
    }
}

/// A parsed GGUF header: metadata and tensor table. Tensor data stays in the file and is read
/// on demand with [`Gguf::read_tensor_f32`].
#[derive(Debug, Clone)]
pub struct Gguf {
    /// The format version (2 or 3).
    pub version: u32,
    /// Metadata, by key.
    pub metadata: BTreeMap<String, Value>,
    /// The tensor table, in file order.
    pub tensors: Vec<TensorInfo>,
    /// Absolute file offset of the data section.
    pub data_offset: u64,
}

impl Gguf {
    /// Reads the header of the GGUF file at `path`.
    ///
    /// # Errors
    /// [`GgufError`] when the file cannot be read or is not a well-formed GGUF v2/v3 file.
    pub fn open(path: &Path) -> Result<Self, GgufError> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Self::read(&mut BufReader::new(file), len)
    }

    /// Reads a GGUF header from `reader`, positioned at the start of a file of `file_len`
    /// bytes (the length bounds every count and string before it is allocated).
    ///
    /// # Errors
    /// [`GgufError`] for malformed input.
    pub fn read<R: Read>(reader: &mut R, file_len: u64) -> Result<Self, GgufError> {
        let mut r = Reader {
            inner: reader,
            pos: 0,
            len: file_len,
        };
        let mut magic = [0u8; 4];
        r.bytes(&mut magic)?;
        if magic != MAGIC {
            return Err(GgufError::BadMagic(magic));
        }
        let version = r.u32()?;
        if !(2..=3).contains(&version) {
            return Err(GgufError::UnsupportedVersion(version));
        }
        let tensor_count = r.u64()?;
        let kv_count = r.u64()?;
        // Each entry takes at least 8 bytes: reject counts the file cannot hold.
        r.check_count(tensor_count, 8, "tensor count")?;
        r.check_count(kv_count, 8, "metadata count")?;

        let mut metadata = BTreeMap::new();
        for _ in 0..kv_count {
            let key = r.string()?;
            let type_id = r.u32()?;
            let value = r.value(type_id, 0)?;
            metadata.insert(key, value);
        }

        let mut tensors = Vec::with_capacity(tensor_count as usize);
        for _ in 0..tensor_count {
            let name = r.string()?;
            let n_dims = r.u32()?;
            if n_dims > MAX_DIMS {
                return Err(GgufError::Corrupt(format!(
                    "tensor `{name}` has {n_dims} dimensions"
                )));
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                dims.push(r.u64()?);
            }
            let elements = dims
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d))
                .ok_or_else(|| GgufError::Corrupt(format!("tensor `{name}` size overflows")))?;
            let type_id = r.u32()?;
            let offset = r.u64()?;
            if let Some(ty) = GgmlType::from_id(type_id) {
                if ty.data_len(elements).is_none() {
                    return Err(GgufError::Corrupt(format!(
                        "tensor `{name}` has {elements} elements, not whole blocks of {ty:?}"
                    )));
                }
            }
            tensors.push(TensorInfo {
                name,
                dims,
                type_id,
                offset,
            });
        }

        let alignment = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(v) => match v.as_u64() {
                Some(a) if a > 0 && a.is_power_of_two() => a,
                _ => {
                    return Err(GgufError::Metadata {
                        key: "general.alignment".into(),
                        expected: "a power of two",
                    })
                }
            },
        };
        let data_offset = r.pos.div_ceil(alignment) * alignment;
        Ok(Self {
            version,
            metadata,
            tensors,
            data_offset,
        })
    }

    /// The metadata value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    /// A string metadata value.
    ///
    /// # Errors
    /// [`GgufError::Metadata`] when absent or not a string.
    pub fn get_str(&self, key: &str) -> Result<&str, GgufError> {
        self.get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| GgufError::Metadata {
                key: key.into(),
                expected: "a string",
            })
    }

    /// An unsigned integer metadata value.
    ///
    /// # Errors
    /// [`GgufError::Metadata`] when absent or not a non-negative integer.
    pub fn get_u64(&self, key: &str) -> Result<u64, GgufError> {
        self.get(key)
            .and_then(Value::as_u64)
            .ok_or_else(|| GgufError::Metadata {
                key: key.into(),
                expected: "an unsigned integer",
            })
    }

    /// A float metadata value.
    ///
    /// # Errors
    /// [`GgufError::Metadata`] when absent or not a float.
    pub fn get_f64(&self, key: &str) -> Result<f64, GgufError> {
        self.get(key)
            .and_then(Value::as_f64)
            .ok_or_else(|| GgufError::Metadata {
                key: key.into(),
                expected: "a float",
            })
    }

    /// `general.architecture`, e.g. `llama` or `gemma3`.
    ///
    /// # Errors
    /// [`GgufError::Metadata`] when absent.
    pub fn architecture(&self) -> Result<&str, GgufError> {
        self.get_str("general.architecture")
    }

    /// The tensor named `name`.
    ///
    /// # Errors
    /// [`GgufError::MissingTensor`].
    pub fn tensor(&self, name: &str) -> Result<&TensorInfo, GgufError> {
        self.tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| GgufError::MissingTensor(name.into()))
    }

    /// Reads tensor `info` from `file` (the file this header came from) and dequantises it to
    /// `f32`, in row-major order.
    ///
    /// # Errors
    /// [`GgufError::UnsupportedTensorType`] or an I/O error, or [`GgufError::Corrupt`] when
    /// the data lies outside the file.
    pub fn read_tensor_f32<R: Read + Seek>(
        &self,
        file: &mut R,
        info: &TensorInfo,
    ) -> Result<Vec<f32>, GgufError> {
        let ty = info.ggml_type()?;
        let elements = info.elements();
        let len = ty
            .data_len(elements)
            .ok_or_else(|| GgufError::Corrupt(format!("tensor `{}` size", info.name)))?;
        let start = self
            .data_offset
            .checked_add(info.offset)
            .ok_or_else(|| GgufError::Corrupt(format!("tensor `{}` offset", info.name)))?;
        let file_len = file.seek(SeekFrom::End(0))?;
        if start.checked_add(len).is_none_or(|end| end > file_len) {
            return Err(GgufError::Corrupt(format!(
                "tensor `{}` data ({len} bytes at {start}) beyond the end of the file ({file_len} bytes)",
                info.name
            )));
        }
        file.seek(SeekFrom::Start(start))?;
        let mut raw = vec![0u8; len as usize];
        file.read_exact(&mut raw)?;
        dequantize(ty, &raw, elements as usize)
    }
}

/// Dequantises `elements` values of type `ty` stored in `data` to `f32`.
///
/// # Errors
/// [`GgufError::Corrupt`] when `data` is not exactly the size `elements` needs.
pub fn dequantize(ty: GgmlType, data: &[u8], elements: usize) -> Result<Vec<f32>, GgufError> {
    let expected = ty.data_len(elements as u64);
    if expected != Some(data.len() as u64) {
        return Err(GgufError::Corrupt(format!(
            "{} bytes for {elements} {ty:?} values (expected {expected:?})",
            data.len()
        )));
    }
    let mut out = Vec::with_capacity(elements);
    let blocks = data.chunks_exact(ty.block_bytes());
    match ty {
        GgmlType::F32 => out.extend(blocks.map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
        GgmlType::F16 => out.extend(blocks.map(|b| f16_at(b, 0))),
        GgmlType::BF16 => {
            out.extend(blocks.map(|b| bf16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32()))
        }
        GgmlType::Q4_0 => blocks.for_each(|b| q4_0(b, &mut out)),
        GgmlType::Q4_1 => blocks.for_each(|b| q4_1(b, &mut out)),
        GgmlType::Q5_0 => blocks.for_each(|b| q5_0(b, &mut out)),
        GgmlType::Q5_1 => blocks.for_each(|b| q5_1(b, &mut out)),
        GgmlType::Q8_0 => blocks.for_each(|b| q8_0(b, &mut out)),
        GgmlType::Q4K => blocks.for_each(|b| q4_k(b, &mut out)),
        GgmlType::Q5K => blocks.for_each(|b| q5_k(b, &mut out)),
        GgmlType::Q6K => blocks.for_each(|b| q6_k(b, &mut out)),
    }
    Ok(out)
}

fn f16_at(b: &[u8], at: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([b[at], b[at + 1]])).to_f32()
}

/// `d`, then 16 bytes of nibbles: low nibbles are values 0..16, high nibbles 16..32.
fn q4_0(b: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(b, 0);
    let qs = &b[2..18];
    out.extend(qs.iter().map(|&q| (f32::from(q & 0x0f) - 8.0) * d));
    out.extend(qs.iter().map(|&q| (f32::from(q >> 4) - 8.0) * d));
}

/// `d`, `m`, then nibbles as in Q4_0, unsigned, plus the minimum.
fn q4_1(b: &[u8], out: &mut Vec<f32>) {
    let (d, m) = (f16_at(b, 0), f16_at(b, 2));
    let qs = &b[4..20];
    out.extend(qs.iter().map(|&q| f32::from(q & 0x0f) * d + m));
    out.extend(qs.iter().map(|&q| f32::from(q >> 4) * d + m));
}

/// Fifth bits of the 32 values of a Q5 block: bit `j` of `qh` belongs to value `j`.
fn fifth_bits(qh: u32, j: usize) -> (u8, u8) {
    let lo = (((qh >> j) << 4) & 0x10) as u8;
    let hi = ((qh >> (j + 12)) & 0x10) as u8;
    (lo, hi)
}

/// `d`, 32 fifth bits, 16 bytes of nibbles; values centred by 16.
fn q5_0(b: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(b, 0);
    let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
    let qs = &b[6..22];
    let mut hi = [0f32; 16];
    for (j, &q) in qs.iter().enumerate() {
        let (h0, h1) = fifth_bits(qh, j);
        out.push((f32::from((q & 0x0f) | h0) - 16.0) * d);
        hi[j] = (f32::from((q >> 4) | h1) - 16.0) * d;
    }
    out.extend_from_slice(&hi);
}

/// `d`, `m`, 32 fifth bits, 16 bytes of nibbles; unsigned plus the minimum.
fn q5_1(b: &[u8], out: &mut Vec<f32>) {
    let (d, m) = (f16_at(b, 0), f16_at(b, 2));
    let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    let qs = &b[8..24];
    let mut hi = [0f32; 16];
    for (j, &q) in qs.iter().enumerate() {
        let (h0, h1) = fifth_bits(qh, j);
        out.push(f32::from((q & 0x0f) | h0) * d + m);
        hi[j] = f32::from((q >> 4) | h1) * d + m;
    }
    out.extend_from_slice(&hi);
}

/// `d`, then 32 signed bytes.
fn q8_0(b: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(b, 0);
    out.extend(b[2..34].iter().map(|&q| f32::from(q as i8) * d));
}

/// Scale and minimum of sub-block `j` (0..8) of a Q4_K/Q5_K super-block: 6 bits each, packed
/// in 12 bytes (the first four sub-blocks in the low 6 bits of bytes 0..8, the last four split
/// between bytes 8..12 and the top 2 bits of bytes 0..8).
fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// `d`, `dmin`, 12 bytes of scales, 128 bytes of nibbles: four groups of 64 values, each the
/// low then the high nibbles of 32 bytes, with its own pair of sub-block scales.
fn q4_k(b: &[u8], out: &mut Vec<f32>) {
    let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
    let scales = &b[4..16];
    let qs = &b[16..144];
    for (group, q) in qs.chunks_exact(32).enumerate() {
        let (sc1, m1) = scale_min_k4(2 * group, scales);
        let (sc2, m2) = scale_min_k4(2 * group + 1, scales);
        let (d1, min1) = (d * f32::from(sc1), dmin * f32::from(m1));
        let (d2, min2) = (d * f32::from(sc2), dmin * f32::from(m2));
        out.extend(q.iter().map(|&v| d1 * f32::from(v & 0x0f) - min1));
        out.extend(q.iter().map(|&v| d2 * f32::from(v >> 4) - min2));
    }
}

/// As Q4_K with a fifth bit per value from 32 bytes of `qh` (two bits of each byte per group).
fn q5_k(b: &[u8], out: &mut Vec<f32>) {
    let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
    let scales = &b[4..16];
    let qh = &b[16..48];
    let qs = &b[48..176];
    for (group, ql) in qs.chunks_exact(32).enumerate() {
        let (sc1, m1) = scale_min_k4(2 * group, scales);
        let (sc2, m2) = scale_min_k4(2 * group + 1, scales);
        let (d1, min1) = (d * f32::from(sc1), dmin * f32::from(m1));
        let (d2, min2) = (d * f32::from(sc2), dmin * f32::from(m2));
        let (u1, u2) = (1u8 << (2 * group), 2u8 << (2 * group));
        out.extend(
            ql.iter().zip(qh).map(|(&l, &h)| {
                d1 * f32::from((l & 0x0f) + if h & u1 != 0 { 16 } else { 0 }) - min1
            }),
        );
        out.extend(
            ql.iter()
                .zip(qh)
                .map(|(&l, &h)| d2 * f32::from((l >> 4) + if h & u2 != 0 { 16 } else { 0 }) - min2),
        );
    }
}

/// 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 signed scales, `d`: two halves
/// of 128 values, each four runs of 32 with one scale per 16 values.
fn q6_k(b: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(b, 208);
    for half in 0..2 {
        let ql = &b[64 * half..64 * half + 64];
        let qh = &b[128 + 32 * half..128 + 32 * half + 32];
        let sc = &b[192 + 8 * half..192 + 8 * half + 8];
        let mut vals = [0f32; 128];
        for l in 0..32 {
            let is = l / 16;
            let q1 = ((ql[l] & 0x0f) | ((qh[l] & 3) << 4)) as i8 - 32;
            let q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) as i8 - 32;
            let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i8 - 32;
            let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i8 - 32;
            vals[l] = d * f32::from(sc[is] as i8) * f32::from(q1);
            vals[l + 32] = d * f32::from(sc[is + 2] as i8) * f32::from(q2);
            vals[l + 64] = d * f32::from(sc[is + 4] as i8) * f32::from(q3);
            vals[l + 96] = d * f32::from(sc[is + 6] as i8) * f32::from(q4);
        }
        out.extend_from_slice(&vals);
    }
}

/// Position-tracking little-endian reader with bounds checks against the file length.
struct Reader<'a, R> {
    inner: &'a mut R,
    pos: u64,
    len: u64,
}

impl<R: Read> Reader<'_, R> {
    fn bytes(&mut self, buf: &mut [u8]) -> Result<(), GgufError> {
        self.need(buf.len() as u64, "value")?;
        self.inner.read_exact(buf)?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn need(&self, n: u64, what: &str) -> Result<(), GgufError> {
        if self.pos.checked_add(n).is_none_or(|end| end > self.len) {
            return Err(GgufError::Corrupt(format!(
                "{what} of {n} bytes at offset {} runs past the end ({} bytes)",
                self.pos, self.len
            )));
        }
        Ok(())
    }

    fn check_count(&self, count: u64, min_size: u64, what: &str) -> Result<(), GgufError> {
        self.need(count.saturating_mul(min_size), what)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], GgufError> {
        let mut b = [0u8; N];
        self.bytes(&mut b)?;
        Ok(b)
    }

    fn u32(&mut self) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn string(&mut self) -> Result<String, GgufError> {
        let n = self.u64()?;
        if n > MAX_STRING_LEN {
            return Err(GgufError::Corrupt(format!("string of {n} bytes")));
        }
        self.need(n, "string")?;
        let mut buf = vec![0u8; n as usize];
        self.bytes(&mut buf)?;
        Ok(String::from_utf8(buf)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    fn value(&mut self, type_id: u32, depth: u32) -> Result<Value, GgufError> {
        Ok(match type_id {
            0 => Value::U8(u8::from_le_bytes(self.array()?)),
            1 => Value::I8(i8::from_le_bytes(self.array()?)),
            2 => Value::U16(u16::from_le_bytes(self.array()?)),
            3 => Value::I16(i16::from_le_bytes(self.array()?)),
            4 => Value::U32(self.u32()?),
            5 => Value::I32(i32::from_le_bytes(self.array()?)),
            6 => Value::F32(f32::from_le_bytes(self.array()?)),
            7 => Value::Bool(self.array::<1>()?[0] != 0),
            8 => Value::String(self.string()?),
            9 => {
                if depth > 2 {
                    return Err(GgufError::Corrupt("arrays nested too deeply".into()));
                }
                let elem_type = self.u32()?;
                let n = self.u64()?;
                self.check_count(n, 1, "array")?;
                let mut items = Vec::with_capacity(n.min(1 << 20) as usize);
                for _ in 0..n {
                    items.push(self.value(elem_type, depth + 1)?);
                }
                Value::Array(items)
            }
            10 => Value::U64(self.u64()?),
            11 => Value::I64(i64::from_le_bytes(self.array()?)),
            12 => Value::F64(f64::from_le_bytes(self.array()?)),
            other => return Err(GgufError::UnknownValueType(other)),
        })
    }
}

/// Writes GGUF files: used by tests and by tools that need a small, well-formed GGUF (the
/// reader above is the production path).
pub mod writer {
    use super::{GgmlType, Value, DEFAULT_ALIGNMENT, MAGIC};

    /// Serialises a GGUF v3 file with `metadata` and F32 `tensors` (name, GGUF dims, values).
    pub fn to_bytes(metadata: &[(&str, Value)], tensors: &[(&str, Vec<u64>, Vec<f32>)]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
        for (key, value) in metadata {
            string(&mut out, key);
            out.extend_from_slice(&type_id(value).to_le_bytes());
            write_value(&mut out, value);
        }
        let mut offset = 0u64;
        for (name, dims, values) in tensors {
            string(&mut out, name);
            out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
            for d in dims {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(&GgmlType::F32.id().to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            offset += (values.len() * 4) as u64;
            offset = offset.div_ceil(DEFAULT_ALIGNMENT) * DEFAULT_ALIGNMENT;
        }
        for (_, _, values) in tensors {
            out.resize(out.len().div_ceil(32) * 32, 0);
            for v in values {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }

    fn type_id(v: &Value) -> u32 {
        match v {
            Value::U8(_) => 0,
            Value::I8(_) => 1,
            Value::U16(_) => 2,
            Value::I16(_) => 3,
            Value::U32(_) => 4,
            Value::I32(_) => 5,
            Value::F32(_) => 6,
            Value::Bool(_) => 7,
            Value::String(_) => 8,
            Value::Array(_) => 9,
            Value::U64(_) => 10,
            Value::I64(_) => 11,
            Value::F64(_) => 12,
        }
    }

    fn write_value(out: &mut Vec<u8>, v: &Value) {
        match v {
            Value::U8(x) => out.push(*x),
            Value::I8(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::Bool(x) => out.push(u8::from(*x)),
            Value::String(s) => string(out, s),
            Value::Array(items) => {
                let elem = items.first().map_or(4, type_id);
                out.extend_from_slice(&elem.to_le_bytes());
                out.extend_from_slice(&(items.len() as u64).to_le_bytes());
                for item in items {
                    write_value(out, item);
                }
            }
            Value::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn h(x: f32) -> [u8; 2] {
        f16::from_f32(x).to_bits().to_le_bytes()
    }

    #[test]
    fn header_metadata_and_tensor_round_trip() {
        let bytes = writer::to_bytes(
            &[
                ("general.architecture", Value::String("llama".into())),
                ("llama.block_count", Value::U32(2)),
                ("general.alignment", Value::U32(32)),
                (
                    "tokenizer.ggml.tokens",
                    Value::Array(vec![Value::String("a".into()), Value::String("b".into())]),
                ),
                ("x.eps", Value::F32(1e-6)),
                ("x.flag", Value::Bool(true)),
            ],
            &[
                ("w", vec![3, 2], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
                ("b", vec![1], vec![-1.5]),
            ],
        );
        let g = Gguf::read(&mut Cursor::new(&bytes), bytes.len() as u64).unwrap();
        assert_eq!(g.version, 3);
        assert_eq!(g.architecture().unwrap(), "llama");
        assert_eq!(g.get_u64("llama.block_count").unwrap(), 2);
        assert_eq!(g.get("x.flag").and_then(Value::as_bool), Some(true));
        assert!((g.get_f64("x.eps").unwrap() - 1e-6).abs() < 1e-12);
        assert_eq!(
            g.get("tokenizer.ggml.tokens")
                .and_then(Value::as_array)
                .map(<[_]>::len),
            Some(2)
        );
        let w = g.tensor("w").unwrap();
        assert_eq!(w.shape(), vec![2, 3]);
        let mut cur = Cursor::new(&bytes);
        assert_eq!(
            g.read_tensor_f32(&mut cur, w).unwrap(),
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
        let b = g.tensor("b").unwrap().clone();
        assert_eq!(g.read_tensor_f32(&mut cur, &b).unwrap(), vec![-1.5]);
        assert!(matches!(g.tensor("nope"), Err(GgufError::MissingTensor(_))));
    }

    #[test]
    fn malformed_headers_are_typed_errors() {
        let good = writer::to_bytes(
            &[("general.architecture", Value::String("llama".into()))],
            &[],
        );
        let read = |b: &[u8]| Gguf::read(&mut Cursor::new(b), b.len() as u64);
        assert!(matches!(
            read(b"GGML\x03\0\0\0"),
            Err(GgufError::BadMagic(_))
        ));
        let mut v9 = good.clone();
        v9[4] = 9;
        assert!(matches!(read(&v9), Err(GgufError::UnsupportedVersion(9))));
        // Every truncation is an error, never a panic.
        for cut in 0..good.len() {
            assert!(read(&good[..cut]).is_err(), "cut at {cut}");
        }
        // A string length far beyond the file.
        let mut huge = good.clone();
        huge[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(read(&huge), Err(GgufError::Corrupt(_))));
        // A metadata count far beyond the file.
        let mut many = good;
        many[16..24].copy_from_slice(&(1u64 << 60).to_le_bytes());
        assert!(matches!(read(&many), Err(GgufError::Corrupt(_))));
    }

    #[test]
    fn tensor_data_beyond_file_is_an_error() {
        let mut bytes = writer::to_bytes(&[], &[("w", vec![4], vec![1.0; 4])]);
        bytes.truncate(bytes.len() - 4);
        let g = Gguf::read(&mut Cursor::new(&bytes), bytes.len() as u64).unwrap();
        let w = g.tensor("w").unwrap().clone();
        assert!(matches!(
            g.read_tensor_f32(&mut Cursor::new(&bytes), &w),
            Err(GgufError::Corrupt(_))
        ));
    }

    #[test]
    fn f16_bf16_f32() {
        let mut f = Vec::new();
        f.extend_from_slice(&h(1.5));
        f.extend_from_slice(&h(-2.0));
        assert_eq!(dequantize(GgmlType::F16, &f, 2).unwrap(), vec![1.5, -2.0]);
        let b = [
            bf16::from_f32(3.0).to_bits().to_le_bytes(),
            bf16::from_f32(-0.5).to_bits().to_le_bytes(),
        ]
        .concat();
        assert_eq!(dequantize(GgmlType::BF16, &b, 2).unwrap(), vec![3.0, -0.5]);
        assert!(matches!(
            dequantize(GgmlType::F32, &[0; 7], 2),
            Err(GgufError::Corrupt(_))
        ));
    }

    #[test]
    fn q8_0_block() {
        let mut b = h(0.5).to_vec();
        b.extend((0..32).map(|i| (i as i8 - 16) as u8));
        let v = dequantize(GgmlType::Q8_0, &b, 32).unwrap();
        let want: Vec<f32> = (0..32).map(|i| (i as f32 - 16.0) * 0.5).collect();
        assert_eq!(v, want);
    }

    #[test]
    fn q4_0_and_q4_1_blocks() {
        // Byte j holds value j in its low nibble and value j+16 in its high nibble.
        let qs: Vec<u8> = (0..16u8).map(|j| j | ((15 - j) << 4)).collect();
        let mut b = h(2.0).to_vec();
        b.extend(&qs);
        let v = dequantize(GgmlType::Q4_0, &b, 32).unwrap();
        for j in 0..16 {
            assert_eq!(v[j], (j as f32 - 8.0) * 2.0);
            assert_eq!(v[j + 16], ((15 - j) as f32 - 8.0) * 2.0);
        }
        let mut b1 = h(0.25).to_vec();
        b1.extend(h(-1.0));
        b1.extend(&qs);
        let v1 = dequantize(GgmlType::Q4_1, &b1, 32).unwrap();
        assert_eq!(v1[3], 3.0 * 0.25 - 1.0);
        assert_eq!(v1[16], 15.0 * 0.25 - 1.0);
    }

    #[test]
    fn q5_0_and_q5_1_blocks() {
        // Fifth bit set for values 1 and 17 only (bits 1 and 17 of qh).
        let qh: u32 = (1 << 1) | (1 << 17);
        let qs = [0x31u8; 16]; // low nibble 1, high nibble 3
        let mut b = h(1.0).to_vec();
        b.extend(qh.to_le_bytes());
        b.extend(qs);
        let v = dequantize(GgmlType::Q5_0, &b, 32).unwrap();
        assert_eq!(v[0], 1.0 - 16.0);
        assert_eq!(v[1], 17.0 - 16.0);
        assert_eq!(v[16], 3.0 - 16.0);
        assert_eq!(v[17], 19.0 - 16.0);
        let mut b1 = h(0.5).to_vec();
        b1.extend(h(10.0));
        b1.extend(qh.to_le_bytes());
        b1.extend(qs);
        let v1 = dequantize(GgmlType::Q5_1, &b1, 32).unwrap();
        assert_eq!(v1[1], 17.0 * 0.5 + 10.0);
        assert_eq!(v1[2], 1.0 * 0.5 + 10.0);
        assert_eq!(v1[17], 19.0 * 0.5 + 10.0);
    }

    /// Packs eight 6-bit (scale, min) pairs the way llama.cpp's `get_scale_min_k4` reads them.
    fn pack_k4(sc: [u8; 8], m: [u8; 8]) -> [u8; 12] {
        let mut q = [0u8; 12];
        for j in 0..4 {
            q[j] = sc[j] | ((sc[j + 4] >> 4) << 6);
            q[j + 4] = m[j] | ((m[j + 4] >> 4) << 6);
            q[j + 8] = (sc[j + 4] & 0x0f) | ((m[j + 4] & 0x0f) << 4);
        }
        q
    }

    #[test]
    fn k4_scale_packing_round_trips() {
        let sc = [1, 2, 63, 4, 50, 33, 17, 62];
        let m = [63, 0, 5, 9, 48, 21, 60, 1];
        let q = pack_k4(sc, m);
        for j in 0..8 {
            assert_eq!(scale_min_k4(j, &q), (sc[j], m[j]));
        }
    }

    #[test]
    fn q4_k_block() {
        let sc = [1, 2, 3, 4, 5, 6, 7, 8];
        let m = [0, 1, 0, 1, 0, 1, 0, 1];
        let mut b = h(0.5).to_vec();
        b.extend(h(2.0));
        b.extend(pack_k4(sc, m));
        // Byte l of group g: low nibble l % 16, high nibble 15 - l % 16.
        for _g in 0..4 {
            b.extend((0..32u8).map(|l| (l % 16) | ((15 - l % 16) << 4)));
        }
        let v = dequantize(GgmlType::Q4K, &b, 256).unwrap();
        for g in 0..4 {
            for l in 0..32 {
                let lo = 0.5 * sc[2 * g] as f32 * (l % 16) as f32 - 2.0 * m[2 * g] as f32;
                let hi =
                    0.5 * sc[2 * g + 1] as f32 * (15 - l % 16) as f32 - 2.0 * m[2 * g + 1] as f32;
                assert_eq!(v[64 * g + l], lo, "group {g} value {l}");
                assert_eq!(v[64 * g + 32 + l], hi, "group {g} value {}", 32 + l);
            }
        }
    }

    #[test]
    fn q5_k_block() {
        let sc = [2; 8];
        let m = [1; 8];
        let mut b = h(1.0).to_vec();
        b.extend(h(1.0));
        b.extend(pack_k4(sc, m));
        // qh byte l: bit 2g set for even l (fifth bit of low nibbles in group g).
        b.extend((0..32u8).map(|l| if l % 2 == 0 { 0b0101_0101 } else { 0b1010_1010 }));
        b.extend([0x21u8; 128]); // low nibble 1, high nibble 2
        let v = dequantize(GgmlType::Q5K, &b, 256).unwrap();
        for g in 0..4 {
            assert_eq!(v[64 * g], 2.0 * 17.0 - 1.0); // l = 0: fifth bit on for the low run
            assert_eq!(v[64 * g + 1], 2.0 * 1.0 - 1.0);
            assert_eq!(v[64 * g + 32], 2.0 * 2.0 - 1.0); // l = 0: off for the high run
            assert_eq!(v[64 * g + 33], 2.0 * 18.0 - 1.0);
        }
    }

    #[test]
    fn q6_k_block() {
        let mut b = vec![0u8; 210];
        // First half: ql[0] = 0x21 -> q1 low 1, q3 high 2; qh[0] = 0b11_10_01_00 adds the
        // high bits 0 (q1), 1 (q2), 2 (q3), 3 (q4); ql[32] = 0x43 -> q2 low 3, q4 high 4.
        b[0] = 0x21;
        b[32] = 0x43;
        b[128] = 0b1110_0100;
        for (i, s) in [1i8, -1, 2, -2, 3, -3, 4, -4].iter().enumerate() {
            b[192 + i] = *s as u8;
        }
        b[208..210].copy_from_slice(&h(0.5));
        let v = dequantize(GgmlType::Q6K, &b, 256).unwrap();
        assert_eq!(v[0], 0.5 * 1.0 * (1.0 - 32.0)); // scale 0
        assert_eq!(v[32], 0.5 * 2.0 * ((3 + 16) as f32 - 32.0)); // scale 2
        assert_eq!(v[64], 0.5 * 3.0 * ((2 + 32) as f32 - 32.0)); // scale 4
        assert_eq!(v[96], 0.5 * 4.0 * ((4 + 48) as f32 - 32.0)); // scale 6

        // l = 16 uses scale 1 (-1) and q = 0 - 32.
        assert_eq!(v[16], -0.5 * -32.0);
        // Second half: everything zero except the scales (all zero) -> zeros.
        assert!(v[128..].iter().all(|&x| x == 0.0));
    }
}
