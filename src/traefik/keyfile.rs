//! The open `jwksFile` an instance reads through, and which file the path names now: the operating-system calls
//! behind [`super::keys`], nothing else.
//!
//! Every request compares the file's bytes with the last read (the key-file semantics are content, not
//! modification time or size). Opening the file for that at every request took five system calls in Traefik
//! (`openat`, `fstat`, `epoll_ctl`, `read`, `close` under strace: wazero wraps each `path_open` in a Go `os.File`)
//! and, in two runs of the bench at 32 connections, ~30 µs more of Traefik's CPU per request than inline keys. So an
//! instance keeps the file open and, at each request, asks which file the path names and its size
//! (`path_filestat_get`, following symlinks: device and inode) and reads the open one from offset 0 (`fd_pread`)
//! while it is still that file: two system calls (`newfstatat`, `pread64`).
//! - written in place (same inode): the read sees the new bytes;
//! - replaced (a rename over it, a Kubernetes `..data` symlink swap): another inode, so the path is opened again;
//! - deleted: the path's stat fails with `NotFound`, and the open file is dropped.
//!
//! An open file is never confused with a new one that took its inode number: while it is open, its inode is not
//! freed. Where the host gives no inode (0), the file is opened for each request and closed after the read.

use std::fs::File;
use std::io;

/// Which file a path names: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// `None` when the host does not give an inode (then no open file is ever reused).
    fn known(dev: u64, ino: u64) -> Option<FileId> {
        (ino != 0).then_some(FileId { dev, ino })
    }
}

/// A `jwksFile` kept open between requests (see the module documentation). Starts closed.
#[derive(Debug, Default)]
pub struct HeldFile {
    /// The open file and which file it is (`None`: unknown, so it is opened again at the next request).
    open: Option<(File, Option<FileId>)>,
}

impl HeldFile {
    /// Run `read` on the file `path` names now, reused or opened, and the size the path's stat gave. An error is
    /// the path's (`NotFound` when it does not exist) or `read`'s; nothing stays open after one, nor when the host
    /// gives no inode (then a file held open between requests could not be told from a replaced one, and on
    /// Windows it would stop the operator's rename over it).
    pub fn read<T>(&mut self, path: &str, read: impl FnOnce(&File, u64) -> io::Result<T>) -> io::Result<T> {
        let result = self.open(path).and_then(|(file, size)| read(file, size));
        if result.is_err() || matches!(self.open, Some((_, None))) {
            self.open = None;
        }
        result
    }

    fn open(&mut self, path: &str) -> io::Result<(&File, u64)> {
        let (now, size) = path_id(path)?;
        let open = match self.open.take() {
            Some(held @ (_, Some(id))) if now == Some(id) => held,
            _ => {
                let file = File::open(path)?;
                // The inode of what was opened (the path may have been replaced since its stat): the next request
                // reuses it only while the path still names it.
                let id = file_id(&file)?;
                (file, id)
            }
        };
        let (file, _) = self.open.insert(open);
        Ok((file, size))
    }
}

// The calls go through rustix (safe bindings: wasi-libc's `stat`, `fstat` and `pread` in the plugin, Linux's
// natively), because stable Rust's standard library gives neither an inode nor a positioned read on WASI.

fn id(st: &rustix::fs::Stat) -> Option<FileId> {
    FileId::known(st.st_dev, st.st_ino)
}

/// Which file `path` names, following symlinks, and its size (`path_filestat_get`).
fn path_id(path: &str) -> io::Result<(Option<FileId>, u64)> {
    let st = rustix::fs::stat(path)?;
    Ok((id(&st), u64::try_from(st.st_size).unwrap_or(u64::MAX)))
}

/// Which file `file` is (`fd_filestat_get`).
fn file_id(file: &File) -> io::Result<Option<FileId>> {
    Ok(id(&rustix::fs::fstat(file)?))
}

/// Read into `buf` from byte `offset` of `file` (0 at the end), without moving a file position (`fd_pread`).
pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    Ok(rustix::io::pread(file, buf, offset)?)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn read_all(held: &mut HeldFile, path: &str) -> io::Result<Vec<u8>> {
        held.read(path, |file, _| {
            let (mut out, mut buf) = (Vec::new(), [0u8; 3]);
            loop {
                let n = read_at(file, &mut buf, out.len() as u64)?;
                if n == 0 {
                    return Ok(out);
                }
                out.extend_from_slice(&buf[..n]);
            }
        })
    }

    fn held_inode(held: &HeldFile) -> Option<u64> {
        held.open.as_ref().and_then(|(_, id)| id.map(|id| id.ino))
    }

    #[test]
    fn follows_in_place_writes_renames_symlink_swaps_and_deletion() {
        let dir = std::env::temp_dir().join(format!("pocketgate-keyfile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::create_dir_all(dir.join("b")).unwrap();
        let path = dir.join("jwks.json");
        let p = path.to_str().unwrap();
        let mut held = HeldFile::default();

        std::fs::write(&path, b"first").unwrap();
        assert_eq!(read_all(&mut held, p).unwrap(), b"first");
        let first = held_inode(&held).expect("kept open");

        // In place (same inode, shorter): the open file is reused and reads the new bytes, not the old tail.
        std::fs::write(&path, b"two").unwrap();
        assert_eq!(read_all(&mut held, p).unwrap(), b"two");
        assert_eq!(held_inode(&held), Some(first));

        // A rename over the path: another inode, opened again.
        std::fs::write(dir.join("new"), b"renamed").unwrap();
        std::fs::rename(dir.join("new"), &path).unwrap();
        assert_eq!(read_all(&mut held, p).unwrap(), b"renamed");
        assert_ne!(held_inode(&held), Some(first));

        // A symlink swapped over the path (Kubernetes' ..data): the target is followed.
        std::fs::write(dir.join("a/jwks.json"), b"in a").unwrap();
        std::fs::write(dir.join("b/jwks.json"), b"in b").unwrap();
        std::os::unix::fs::symlink(dir.join("a/jwks.json"), dir.join("link")).unwrap();
        std::fs::rename(dir.join("link"), &path).unwrap();
        assert_eq!(read_all(&mut held, p).unwrap(), b"in a");
        std::os::unix::fs::symlink(dir.join("b/jwks.json"), dir.join("link")).unwrap();
        std::fs::rename(dir.join("link"), &path).unwrap();
        assert_eq!(read_all(&mut held, p).unwrap(), b"in b");

        // A failed read closes the file.
        assert_eq!(held.read(p, |_, _| Err::<(), _>(io::Error::other("test"))).unwrap_err().to_string(), "test");
        assert_eq!(held_inode(&held), None);
        assert_eq!(read_all(&mut held, p).unwrap(), b"in b");
        assert!(held_inode(&held).is_some());

        // Deleted: NotFound, and nothing stays open.
        std::fs::remove_file(&path).unwrap();
        assert_eq!(read_all(&mut held, p).unwrap_err().kind(), io::ErrorKind::NotFound);
        assert_eq!(held_inode(&held), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
