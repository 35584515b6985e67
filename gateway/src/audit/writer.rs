//! The sinks audit lines are written to: standard output, or a file rotated
//! by size (`audit.jsonl` → `audit.jsonl.1` → … → `audit.jsonl.<max_files>`,
//! the oldest dropped).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::config::AuditSink;

/// An open sink.
pub enum Sink {
    Stdout(io::Stdout),
    File(RotatingFile),
}

impl Sink {
    /// Opens `sink`, creating the file and its folder.
    pub fn open(sink: &AuditSink) -> io::Result<Self> {
        match sink {
            AuditSink::Stdout => Ok(Self::Stdout(io::stdout())),
            AuditSink::File {
                path,
                max_file_bytes,
                max_files,
            } => RotatingFile::open(path.clone(), *max_file_bytes, *max_files).map(Self::File),
        }
    }

    /// Writes one line (which ends with `\n`), rotating first if it would
    /// not fit.
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        match self {
            Self::Stdout(stdout) => stdout.lock().write_all(line),
            Self::File(file) => file.write_line(line),
        }
    }

    /// Pushes buffered lines to the operating system.
    pub fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Stdout(stdout) => stdout.lock().flush(),
            Self::File(file) => file.flush(),
        }
    }
}

/// A file rotated when it would grow past `max_bytes`.
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    max_files: u32,
    /// `None` after a failed rotation or open: reopened on the next write.
    file: Option<BufWriter<File>>,
    size: u64,
}

impl RotatingFile {
    fn open(path: PathBuf, max_bytes: u64, max_files: u32) -> io::Result<Self> {
        let mut rotating = Self {
            path,
            max_bytes,
            max_files,
            file: None,
            size: 0,
        };
        rotating.reopen()?;
        Ok(rotating)
    }

    fn reopen(&mut self) -> io::Result<()> {
        if let Some(folder) = self.path.parent() {
            fs::create_dir_all(folder)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = file.metadata()?.len();
        self.file = Some(BufWriter::new(file));
        Ok(())
    }

    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let line_bytes = line.len() as u64;
        if self.size > 0 && self.size + line_bytes > self.max_bytes {
            self.rotate()?;
        }
        if self.file.is_none() {
            self.reopen()?;
        }
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("audit file not open"))?;
        file.write_all(line)?;
        self.size += line_bytes;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }

    /// Shifts `path.N-1` to `path.N` down to `path` to `path.1`, dropping
    /// the oldest, and starts an empty file.
    fn rotate(&mut self) -> io::Result<()> {
        if let Some(mut file) = self.file.take() {
            file.flush()?;
        }
        let numbered = |n: u32| numbered(&self.path, n);
        let _ = fs::remove_file(numbered(self.max_files));
        for n in (1..self.max_files).rev() {
            let from = numbered(n);
            if from.exists() {
                fs::rename(&from, numbered(n + 1))?;
            }
        }
        fs::rename(&self.path, numbered(1))?;
        self.reopen()
    }
}

fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_by_size_and_keeps_max_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("logs/audit.jsonl");
        let mut file = RotatingFile::open(path.clone(), 25, 2).expect("open");
        for n in 0..7 {
            file.write_line(format!("record {n:02}\n").as_bytes())
                .expect("write");
        }
        file.flush().expect("flush");
        // Ten-byte lines, two to a 25-byte file: 00 01 | 02 03 | 04 05 | 06.
        let read = |p: &Path| fs::read_to_string(p).expect("read");
        assert_eq!(read(&path), "record 06\n");
        assert_eq!(read(&numbered(&path, 1)), "record 04\nrecord 05\n");
        assert_eq!(read(&numbered(&path, 2)), "record 02\nrecord 03\n");
        assert!(
            !numbered(&path, 3).exists(),
            "only two rotated files are kept"
        );

        // Reopening appends to the current file.
        let mut again = RotatingFile::open(path.clone(), 25, 2).expect("reopen");
        again.write_line(b"record 07\n").expect("write");
        again.flush().expect("flush");
        assert_eq!(read(&path), "record 06\nrecord 07\n");
    }
}
