//! A streaming writer for F32 safetensors files.
//!
//! Converting a model tensor by tensor keeps one dequantised tensor in memory at a time: the
//! header (names, shapes, offsets) is written first from the planned shapes, then each
//! tensor's data as it is produced. Format: an 8-byte little-endian header length, the JSON
//! header padded with spaces to a multiple of 8, then the tensors back to back.

use std::{
    fs::File,
    io::{self, BufWriter, Write},
    path::{Path, PathBuf},
};

use serde_json::{json, Map, Value};

/// Writes planned tensors, in plan order, into a safetensors file.
#[derive(Debug)]
pub struct F32Writer {
    out: BufWriter<File>,
    tmp: PathBuf,
    path: PathBuf,
    plan: Vec<(String, Vec<usize>)>,
    next: usize,
}

impl F32Writer {
    /// Starts `path` (written as `path.partial` until [`F32Writer::finish`]) holding the
    /// tensors of `plan` (name, row-major shape), whose data must then be written in order.
    ///
    /// # Errors
    /// I/O errors.
    pub fn create(path: &Path, plan: Vec<(String, Vec<usize>)>) -> io::Result<Self> {
        let mut header = Map::new();
        header.insert("__metadata__".into(), json!({"format": "pt"}));
        let mut offset = 0usize;
        for (name, shape) in &plan {
            let bytes = shape.iter().product::<usize>() * 4;
            header.insert(
                name.clone(),
                json!({"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + bytes]}),
            );
            offset += bytes;
        }
        let mut header = serde_json::to_vec(&Value::Object(header))?;
        header.resize(header.len().div_ceil(8) * 8, b' ');
        let tmp = path.with_extension("partial");
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        out.write_all(&(header.len() as u64).to_le_bytes())?;
        out.write_all(&header)?;
        Ok(Self {
            out,
            tmp,
            path: path.to_owned(),
            plan,
            next: 0,
        })
    }

    /// Writes the next planned tensor.
    ///
    /// # Errors
    /// `InvalidInput` when `name` or the length is not what the plan says next; I/O errors.
    pub fn write(&mut self, name: &str, data: &[f32]) -> io::Result<()> {
        let Some((planned, shape)) = self.plan.get(self.next) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("tensor `{name}` was not planned"),
            ));
        };
        let len: usize = shape.iter().product();
        if planned != name || len != data.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "expected `{planned}` with {len} values, got `{name}` with {}",
                    data.len()
                ),
            ));
        }
        for chunk in data.chunks(1 << 16) {
            let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
            self.out.write_all(&bytes)?;
        }
        self.next += 1;
        Ok(())
    }

    /// Flushes, checks every planned tensor was written, and moves the file into place.
    ///
    /// # Errors
    /// `InvalidInput` when tensors are missing; I/O errors.
    pub fn finish(mut self) -> io::Result<()> {
        if self.next != self.plan.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} of {} tensors written", self.next, self.plan.len()),
            ));
        }
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        std::fs::rename(&self.tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_files_parse_with_the_safetensors_crate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let plan = vec![
            ("a".to_string(), vec![2, 3]),
            ("b.weight".to_string(), vec![1]),
        ];
        let mut w = F32Writer::create(&path, plan).unwrap();
        assert!(w.write("b.weight", &[1.0]).is_err(), "out of order");
        w.write("a", &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        w.write("b.weight", &[-7.5]).unwrap();
        w.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let st = ::safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let a = st.tensor("a").unwrap();
        assert_eq!(a.shape(), [2, 3]);
        assert_eq!(a.dtype(), ::safetensors::Dtype::F32);
        assert_eq!(&a.data()[4..8], &2.0f32.to_le_bytes());
        assert_eq!(
            st.tensor("b.weight").unwrap().data(),
            &(-7.5f32).to_le_bytes()
        );
    }

    #[test]
    fn unfinished_plans_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let w = F32Writer::create(&path, vec![("a".into(), vec![1])]).unwrap();
        assert!(w.finish().is_err());
        assert!(!path.exists());
    }
}
