//! File helpers shared by everything that reads inputs and writes results: bounded reads of
//! regular files only ([`read_input`], [`open_input`]), where a data file may come from
//! ([`locate_data`]), what an error may quote of a file ([`quote`], [`Header`]), output paths
//! kept inside their folder ([`normalize`], [`inside`]), kill-safe writes ([`write_atomic`]) and
//! `float32` `.npy` arrays ([`npy`]: snapshots, a plane's directions).
//!
//! The rule for failures: an input that cannot be read (missing, not a regular file, too large,
//! not text, unreadable) is the input's fault, exit 2 naming it; a result that cannot be written
//! is the environment's, exit 3.

pub(crate) mod npy;

use crate::error::{Error, FieldContext, FieldError, Parsed, QUOTE_CHARS, Result};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

/// A kind of input file, and the most bytes of one that are read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Input {
    /// What it is, for messages ("an experiment file").
    what: &'static str,
    /// The most bytes read.
    cap: u64,
}

/// One megabyte (2^20 bytes), the unit of the caps.
const MB: u64 = 1 << 20;

/// The most bytes of a `runs.csv` line (the longest is under 200).
pub(crate) const RUNS_LINE: u64 = 512;

impl Input {
    /// Experiment and study files: 64 MB.
    pub(crate) const EXPERIMENT: Input = Input {
        what: "an experiment file",
        cap: 64 * MB,
    };
    /// A data surface's CSV file: 1 GB.
    pub(crate) const DATA: Input = Input {
        what: "a CSV data file",
        cap: 1024 * MB,
    };
    /// `trajectories.json`, `study.json`, `vectors.json`: 1 GB.
    pub(crate) const RESULT: Input = Input {
        what: "a result file",
        cap: 1024 * MB,
    };
    /// A model's initial weights in Keras's layout (`"start": {"file": ...}`): 256 MB.
    pub(crate) const WEIGHTS: Input = Input {
        what: "a weights file",
        cap: 256 * MB,
    };
    /// `shard.json` (it carries its study's text): 256 MB.
    pub(crate) const SHARD: Input = Input {
        what: "a shard.json",
        cap: 256 * MB,
    };

    /// A `runs.csv` of `rows` rows: [`RUNS_LINE`] bytes a row and the header.
    pub(crate) fn runs(rows: usize) -> Input {
        Input {
            what: "a runs.csv of this study",
            cap: (rows as u64).saturating_add(1).saturating_mul(RUNS_LINE),
        }
    }

    /// The most bytes of a file of this kind.
    pub(crate) fn cap(self) -> u64 {
        self.cap
    }
}

/// A size as messages give it: MB above one, bytes below.
fn size(bytes: u64) -> String {
    if bytes >= MB {
        format!("{:.0} MB", bytes as f64 / MB as f64)
    } else {
        format!("{bytes} bytes")
    }
}

/// A reader of an input file that fails once more than its kind's cap has been read (a file
/// that grows while it is read is cut there, and refused).
#[derive(Debug)]
pub(crate) struct Bounded {
    file: File,
    left: u64,
    kind: Input,
}

impl Read for Bounded {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            // At the cap: the file must end here.
            return match self.file.read(&mut [0u8; 1])? {
                0 => Ok(0),
                _ => Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("more than the {} {} may have", size(self.kind.cap), self.kind.what),
                )),
            };
        }
        let n = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let read = self.file.read(&mut buf[..n])?;
        self.left -= read as u64;
        Ok(read)
    }
}

/// The operating system's reason, in words.
fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// What kind of file `meta` describes, when it is not a regular one.
fn file_type(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_char_device() {
            return "a character device";
        } else if t.is_block_device() {
            return "a block device";
        } else if t.is_fifo() {
            return "a FIFO";
        } else if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}

/// Opens `path` to read as `kind`, or says why not (without naming it): what is not a regular
/// file (a folder, a device, a FIFO, a socket; links are followed) is refused before it is
/// opened, so an endless device or a FIFO never blocks a run, and so is a file larger than the
/// cap; the reader stops at the cap.
fn open_bounded(path: &Path, kind: Input) -> Parsed<Bounded> {
    let meta = std::fs::metadata(path).map_err(|e| FieldError::new(format!("cannot read it: {}", reason(&e))))?;
    let not_regular = |meta: &std::fs::Metadata| {
        FieldError::new(format!(
            "{} is not a regular file; expected {}",
            match file_type(meta) {
                "not a regular file" => "this",
                t => t,
            },
            kind.what
        ))
    };
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    if meta.len() > kind.cap {
        return Err(FieldError::new(format!(
            "{} is more than the {} {} may have",
            size(meta.len()),
            size(kind.cap),
            kind.what
        )));
    }
    let file = File::open(path).map_err(|e| FieldError::new(format!("cannot read it: {}", reason(&e))))?;
    // The file opened is the one examined, or at least as regular.
    match file.metadata() {
        Ok(m) if m.is_file() => {}
        Ok(m) => return Err(not_regular(&m)),
        Err(e) => return Err(FieldError::new(format!("cannot read it: {}", reason(&e)))),
    }
    Ok(Bounded {
        file,
        left: kind.cap,
        kind,
    })
}

/// Opens the input `path` of kind `kind` (see [`Input`]): a regular file no larger than the
/// kind's cap, read through a reader that stops there. An error names `path` (exit 2).
pub(crate) fn open_input(path: &Path, kind: Input) -> Result<Bounded> {
    open_bounded(path, kind).in_file(path)
}

/// The text of the input `path` of kind `kind` (see [`open_input`]); a file that is not UTF-8
/// text is refused too. An error names `path` (exit 2).
pub(crate) fn read_input(path: &Path, kind: Input) -> Result<String> {
    let mut bytes = Vec::new();
    open_input(path, kind)?
        .read_to_end(&mut bytes)
        .map_err(|e| Error::input(path, "", format!("cannot read it: {}", reason(&e))))?;
    String::from_utf8(bytes).map_err(|e| {
        Error::input(
            path,
            "",
            format!(
                "not UTF-8 text (at byte {}); expected {}",
                e.utf8_error().valid_up_to(),
                kind.what
            ),
        )
    })
}

/// `text` as an error quotes it: in double quotes with Rust's escapes (no control character
/// reaches a terminal), cut after `QUOTE_CHARS` characters with an ellipsis.
pub(crate) fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_CHARS) {
        Some((end, _)) => format!("{:?}…", &text[..end]),
        None => format!("{text:?}"),
    }
}

/// A CSV file's header row as errors may show it. Its names, and cells of the file, are quoted
/// only when it looks like a CSV header: at least two names, each printable and at most 64
/// characters, 1000 in all. A file that is not a CSV (a password file, a key: one long or odd
/// "name") is never echoed, whatever its columns are called.
pub(crate) struct Header<'a> {
    names: Vec<&'a str>,
    plausible: bool,
}

impl<'a> Header<'a> {
    /// The header of `names`.
    pub(crate) fn new(names: impl IntoIterator<Item = &'a str>) -> Self {
        let names: Vec<&str> = names.into_iter().collect();
        let printable = |c: char| matches!(c, '"' | '\\' | '\'') || c.escape_debug().len() == 1;
        let plausible = names.len() >= 2
            && names
                .iter()
                .all(|n| n.chars().count() <= 64 && n.chars().all(printable))
            && names.iter().map(|n| n.chars().count() + 2).sum::<usize>() <= 1000;
        Header { names, plausible }
    }

    /// The index of column `name`.
    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| *n == name)
    }

    /// Why column `name` is not there: the file's columns when the header looks like one.
    pub(crate) fn no_column(&self, name: &str) -> String {
        if self.plausible {
            format!("no column {}; its columns are: {}", quote(name), self.names.join(", "))
        } else {
            format!(
                "no column {}, and its first line is not a CSV header (two or more short, printable names)",
                quote(name)
            )
        }
    }

    /// A cell of the file as an error quotes it ([`quote`]), or "its value" when the header
    /// does not look like a CSV's.
    pub(crate) fn quote(&self, cell: &str) -> String {
        if self.plausible {
            quote(cell)
        } else {
            "its value".into()
        }
    }
}

/// Where data files may come from, as messages state it.
const DATA_RULE: &str =
    "a data file is a relative path without `..`, beside the experiment file or under the working folder";

/// The most bytes of a data file's path.
const MAX_PATH: usize = 4096;

/// The data file `given` names in a file in folder `base`: a relative path without `..`
/// components, found beside that file, else under the working folder (links inside are
/// followed). Absolute paths and `..` are refused, so a file can read only what lies under its
/// own folder or the folder optsurf runs in. Errors name the path, never the file's content.
pub(crate) fn locate_data(given: &str, base: &Path) -> Parsed<PathBuf> {
    let refuse = |why: &str| Err(FieldError::new(format!("{}: {why}; {DATA_RULE}", quote(given))));
    if given.is_empty() {
        return Err(FieldError::new(format!("expected a file name; {DATA_RULE}")));
    }
    if given.len() > MAX_PATH {
        return refuse(&format!("a path of more than {MAX_PATH} bytes"));
    }
    let path = Path::new(given);
    for part in path.components() {
        match part {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return refuse("`..` is not allowed"),
            Component::RootDir | Component::Prefix(_) => return refuse("absolute paths are not allowed"),
        }
    }
    let beside = base.join(path);
    if std::fs::symlink_metadata(&beside).is_ok() {
        return Ok(beside);
    }
    if std::fs::symlink_metadata(path).is_ok() {
        return Ok(path.to_path_buf());
    }
    match base.as_os_str().is_empty() {
        true => refuse("no such file in the working folder"),
        false => refuse(&format!("no such file in {} or in the working folder", base.display())),
    }
}

/// `path` with `.` and `..` resolved lexically (the file system is not asked): `a/../b` is `b`;
/// a `..` above the start of a relative path stays in front (`../x`), one above the root goes.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(part),
            },
            other => out.push(other),
        }
    }
    out.iter().collect()
}

/// True when `path` lies inside `root`, lexically: `root` followed by plain names only.
pub(crate) fn inside(root: &Path, path: &Path) -> bool {
    path.strip_prefix(root)
        .is_ok_and(|rest| rest.components().all(|c| matches!(c, Component::Normal(_))))
}

/// The process that wrote a temporary file of [`write_atomic_with`] (`.NAME.tmp-PID`).
fn temp_owner(name: &str) -> Option<u32> {
    name.strip_prefix('.')?.rsplit_once(".tmp-")?.1.parse().ok()
}

/// Removes what killed runs left in `dir`: the temporary files of processes that no longer run
/// (Linux: no `/proc/PID`; elsewhere nothing is removed). Each folder is swept once a process;
/// nothing here fails a run.
fn sweep_stale(dir: &Path) {
    static SWEPT: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    let proc = Path::new("/proc");
    if !proc.join("self").exists() || !SWEPT.lock().is_ok_and(|mut s| s.insert(dir.to_path_buf())) {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let owner = entry.file_name().to_str().and_then(temp_owner);
        if let Some(pid) = owner
            && pid != me
            && !proc.join(pid.to_string()).exists()
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a
/// reader (or an interrupted run) never sees a half-written file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Writes what `fill` streams to `path` through a buffered temporary file in the same folder and
/// a rename: a reader (or an interrupted run) never sees a half-written file, and a failed write
/// leaves no temporary behind.
pub(crate) fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create the folder", e))?;
            sweep_stale(dir);
        }
        None => sweep_stale(Path::new(".")),
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    let written = File::create(&tmp).and_then(|file| {
        let mut w = BufWriter::new(file);
        fill(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, "write", e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, "write", e)
    })
}

/// Every file under `dir` (recursively, folders in name order, then their files in name order
/// within each folder's listing) that `keep` accepts: the one folder walker of experiments,
/// baselines and reports. Symbolic links to folders are not followed.
pub(crate) fn walk(dir: &Path, keep: impl Fn(&Path) -> bool + Copy) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    walk_into(dir, keep, &mut out)?;
    Ok(out)
}

fn walk_into(dir: &Path, keep: impl Fn(&Path) -> bool + Copy, out: &mut Vec<std::path::PathBuf>) -> Result<()> {
    let mut entries: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, "list the folder", e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        if is_dir {
            walk_into(&path, keep, out)?;
        } else if keep(&path) {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalise_lexically_and_stay_inside() {
        let n = |p: &str| normalize(Path::new(p));
        assert_eq!(n("experiments/../other"), Path::new("other"));
        assert_eq!(n("experiments/a/./b/../c"), Path::new("experiments/a/c"));
        assert_eq!(n("experiments/../../../x"), Path::new("../../x"));
        assert_eq!(n("/a/../../../b"), Path::new("/b"));
        assert_eq!(n("./"), Path::new(""));
        let root = Path::new("out/esc");
        assert!(inside(root, Path::new("out/esc/sub/x")));
        assert!(!inside(root, Path::new("out/esc/../other/x")));
        assert!(!inside(root, Path::new("out/other/x")));
        assert!(!inside(root, Path::new("/out/esc/x")));
    }

    #[test]
    fn quotes_are_short_and_escaped() {
        assert_eq!(quote("abc"), "\"abc\"");
        assert_eq!(quote("a\u{1b}[31mb\n"), "\"a\\u{1b}[31mb\\n\"");
        let long = quote(&"é".repeat(20_000));
        assert_eq!(long, format!("{:?}…", "é".repeat(QUOTE_CHARS)));
    }

    #[test]
    fn only_a_plausible_csv_header_is_shown() {
        let csv = Header::new(["u", "v"]);
        assert_eq!(csv.no_column("w"), "no column \"w\"; its columns are: u, v");
        assert_eq!(csv.quote("abc"), "\"abc\"");
        for odd in [
            vec!["root:x:0:0:root:/root:/bin/bash"],
            vec!["a", "b\u{1b}[2J"],
            vec!["a", &"b".repeat(65)],
        ] {
            let header = Header::new(odd.iter().copied());
            let message = header.no_column("a");
            assert!(!message.contains(odd[odd.len() - 1]), "{message}");
            assert!(message.contains("not a CSV header"), "{message}");
            assert_eq!(header.quote("secret"), "its value");
        }
        let many: Vec<String> = (0..300).map(|i| format!("column{i}")).collect();
        assert!(!Header::new(many.iter().map(String::as_str)).plausible);
    }

    #[test]
    fn inputs_are_regular_files_read_up_to_their_cap() {
        let dir = crate::tempfile::tempdir().unwrap();
        let small = Input {
            what: "a test file",
            cap: 8,
        };
        let file = dir.path().join("f.txt");
        std::fs::write(&file, "12345678").unwrap();
        assert_eq!(read_input(&file, small).unwrap(), "12345678");
        std::fs::write(&file, "123456789").unwrap();
        let e = read_input(&file, small).unwrap_err().to_string();
        assert!(
            e.contains("f.txt") && e.contains("more than the 8 bytes a test file may have"),
            "{e}"
        );
        let e = read_input(dir.path(), small).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("a folder is not a regular file"), "{e}");
        #[cfg(unix)]
        {
            let e = read_input(Path::new("/dev/zero"), Input::EXPERIMENT)
                .unwrap_err()
                .to_string();
            assert!(e.contains("a character device is not a regular file"), "{e}");
        }
        let e = read_input(&dir.path().join("none"), small).unwrap_err();
        assert!(e.to_string().ends_with("cannot read it: no such file"), "{e}");
        std::fs::write(&file, [b'a', 0xff]).unwrap();
        assert!(read_input(&file, small).unwrap_err().to_string().contains("not UTF-8"));
    }

    #[test]
    fn data_files_are_relative_paths_without_dot_dot() {
        let dir = crate::tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("d.csv"), "u,v\n").unwrap();
        assert_eq!(locate_data("d.csv", dir.path()).unwrap(), dir.path().join("d.csv"));
        assert_eq!(locate_data("Cargo.toml", dir.path()).unwrap(), Path::new("Cargo.toml"));
        for (bad, why) in [
            ("/etc/passwd", "absolute paths are not allowed"),
            ("../d.csv", "`..` is not allowed"),
            ("data/../../d.csv", "`..` is not allowed"),
            ("nowhere.csv", "no such file in"),
            ("", "expected a file name"),
        ] {
            let e = locate_data(bad, dir.path()).unwrap_err();
            assert!(e.message().contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn temporary_files_name_their_process() {
        assert_eq!(temp_owner(".runs.csv.tmp-1234"), Some(1234));
        assert_eq!(temp_owner(".a.tmp-b.tmp-77"), Some(77));
        assert_eq!(temp_owner("runs.csv.tmp-1234"), None);
        assert_eq!(temp_owner(".runs.csv.tmp-x"), None);
    }
}
