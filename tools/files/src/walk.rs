//! A pre-order directory walk that does not follow symbolic links.

use std::fs;
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// One entry met by [`walk`].
pub(crate) struct Walked {
    pub path: PathBuf,
    pub file_type: fs::FileType,
}

/// Visits the entries under directory `root` in pre-order, sorted by name
/// within each directory (the order `find` with sorted input gives), going
/// into subdirectories when `recursive`. Symbolic links are visited, never
/// followed.
///
/// An error reading `root` itself is returned. An error below it is given to
/// `on_error`, which decides whether to stop (`Break`) or skip that entry.
pub(crate) fn walk(
    root: &Path,
    recursive: bool,
    mut visit: impl FnMut(Walked) -> ControlFlow<()>,
    mut on_error: impl FnMut(&Path, io::Error) -> ControlFlow<io::Error>,
) -> Result<(), (PathBuf, io::Error)> {
    let mut stack = vec![
        sorted_entries(root)
            .map_err(|e| (root.to_path_buf(), e))?
            .into_iter(),
    ];
    while let Some(entries) = stack.last_mut() {
        let Some(entry) = entries.next() else {
            stack.pop();
            continue;
        };
        let (path, file_type) = match entry {
            Ok(found) => found,
            Err((path, error)) => match on_error(&path, error) {
                ControlFlow::Continue(()) => continue,
                ControlFlow::Break(error) => return Err((path, error)),
            },
        };
        let is_dir = file_type.is_dir();
        if visit(Walked {
            path: path.clone(),
            file_type,
        })
        .is_break()
        {
            return Ok(());
        }
        if recursive && is_dir {
            match sorted_entries(&path) {
                Ok(children) => stack.push(children.into_iter()),
                Err(error) => {
                    if let ControlFlow::Break(error) = on_error(&path, error) {
                        return Err((path, error));
                    }
                }
            }
        }
    }
    Ok(())
}

type Found = Result<(PathBuf, fs::FileType), (PathBuf, io::Error)>;

fn sorted_entries(dir: &Path) -> io::Result<Vec<Found>> {
    let mut entries: Vec<Found> = fs::read_dir(dir)?
        .map(|entry| match entry {
            Ok(entry) => {
                let path = entry.path();
                entry
                    .file_type()
                    .map(|t| (path.clone(), t))
                    .map_err(|e| (path, e))
            }
            Err(error) => Err((dir.to_path_buf(), error)),
        })
        .collect();
    entries.sort_by(|a, b| key(a).cmp(key(b)));
    Ok(entries)
}

fn key(found: &Found) -> &Path {
    match found {
        Ok((path, _)) | Err((path, _)) => path,
    }
}
