//! NumPy's `.npy` format (version 1.0) for `float32` arrays, as `numpy.save` writes them and
//! `numpy.load` reads them: the magic `\x93NUMPY`, the version, a little-endian header length,
//! a Python-literal header `{'descr': '<f4', 'fortran_order': False, 'shape': (a, b, c), }`
//! padded with spaces to a multiple of 64 bytes, then the values, little-endian, row-major.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY";

/// Writes `values` as a `float32` array of `shape` (row-major).
pub(crate) fn write(w: &mut impl Write, shape: &[usize], values: &[f32]) -> std::io::Result<()> {
    debug_assert_eq!(shape.iter().product::<usize>(), values.len());
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let tuple = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
    // Magic (6) + version (2) + length (2) + header + '\n', to a multiple of 64.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    w.write_all(MAGIC)?;
    w.write_all(&[1, 0])?;
    w.write_all(&(header.len() as u16).to_le_bytes())?;
    w.write_all(header.as_bytes())?;
    let mut bytes = Vec::with_capacity(values.len() * 4);
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    w.write_all(&bytes)
}

/// Reads a `float32` array, an input of kind `kind`: its shape and values (row-major). Errors
/// name the file and what is wrong with it.
pub(crate) fn read(path: &Path, kind: crate::io::Input) -> Result<(Vec<usize>, Vec<f32>)> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut crate::io::open_input(path, kind)?, &mut bytes)
        .map_err(|e| Error::io(path, "read", e))?;
    decode(&bytes, path)
}

/// The shape and values of the `.npy` `bytes` (see [`read`]); errors name `path`.
pub(crate) fn decode(bytes: &[u8], path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    let bad = |what: &str| {
        Error::input(
            path,
            "",
            format!("not a float32 .npy array as optsurf writes them: {what}"),
        )
    };
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad("no \\x93NUMPY magic"));
    }
    let (major, len) = (bytes[6], u16::from_le_bytes([bytes[8], bytes[9]]) as usize);
    if major != 1 || bytes.len() < 10 + len {
        return Err(bad("an unknown version or a cut header"));
    }
    let header = std::str::from_utf8(&bytes[10..10 + len]).map_err(|_| bad("a header that is not text"))?;
    if !header.contains("'descr': '<f4'") || !header.contains("'fortran_order': False") {
        return Err(bad("expected descr '<f4' and fortran_order False"));
    }
    let shape_text = header
        .split("'shape': (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .ok_or_else(|| bad("no shape"))?;
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse().map_err(|_| bad("a shape that is not whole numbers")))
        .collect::<Result<_>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| bad("a shape too large"))?;
    let data = &bytes[10 + len..];
    if Some(data.len()) != count.checked_mul(4) {
        return Err(bad(&format!(
            "shape {shape:?} needs {count} values, the file holds {} bytes of them",
            data.len()
        )));
    }
    let values = data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok((shape, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_read_back_with_their_shape_and_a_64_byte_header() {
        let dir = crate::tempfile::tempdir().unwrap();
        for shape in [vec![2, 3, 4], vec![5], vec![0, 2, 7]] {
            let n: usize = shape.iter().product();
            let values: Vec<f32> = (0..n).map(|k| k as f32 * 0.25 - 1.0).collect();
            let mut bytes = Vec::new();
            write(&mut bytes, &shape, &values).unwrap();
            assert_eq!((bytes.len() - 4 * n) % 64, 0, "the data starts 64-byte aligned");
            assert_eq!(bytes[bytes.len() - 4 * n - 1], b'\n');
            let path = dir.path().join("a.npy");
            std::fs::write(&path, &bytes).unwrap();
            assert_eq!(read(&path, crate::io::Input::RESULT).unwrap(), (shape, values));
        }
        std::fs::write(dir.path().join("b.npy"), b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'}").unwrap();
        let e = read(&dir.path().join("b.npy"), crate::io::Input::RESULT)
            .unwrap_err()
            .to_string();
        assert!(e.contains("b.npy") && e.contains("<f4"), "{e}");
    }
}
