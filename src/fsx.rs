//! File-system operations for downloads: temp files beside the destination, created exclusively
//! and without following links; the atomic rename into place; cleanup.
//!
//! Every operation works relative to a descriptor of the destination's directory, so a symlink
//! planted at the temp or final name, or a directory swapped between steps, cannot redirect a
//! write: the temp file is created `O_EXCL | O_NOFOLLOW`, reopened `O_NOFOLLOW`, and `renameat`
//! replaces whatever is at the final name (a planted symlink included) instead of writing
//! through it.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Prefix of every temp file bgcopy creates, so leftovers can be recognised.
pub const TEMP_PREFIX: &str = ".bgcopy-";
/// Suffix of every temp file.
pub const TEMP_SUFFIX: &str = ".tmp";

fn cstr(bytes: &OsStr) -> io::Result<CString> {
    CString::new(bytes.as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn split(path: &Path) -> io::Result<(&Path, &OsStr)> {
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => Ok((dir, name)),
        _ => Err(io::Error::from_raw_os_error(libc::EINVAL)),
    }
}

/// `open(2)` of `path` with `flags` (`O_CLOEXEC` added) and, for a new file, mode 0600.
fn open_fd(path: &Path, flags: libc::c_int) -> io::Result<OwnedFd> {
    let c = cstr(path.as_os_str())?;
    // SAFETY: a NUL-terminated path; the mode is read only with O_CREAT.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC, 0o600 as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn open_dir(dir: &Path) -> io::Result<OwnedFd> {
    open_fd(dir, libc::O_RDONLY | libc::O_DIRECTORY)
}

/// 16 hex digits for a temp file name: unpredictable (seeded once per thread from the
/// kernel), without a system call per name. `O_EXCL` makes names unique; this only makes
/// them hard to guess.
fn random_hex() -> io::Result<String> {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<Option<u64>> = const { Cell::new(None) };
    }
    let seed = match STATE.with(Cell::get) {
        Some(s) => s,
        None => {
            let mut bytes = [0u8; 8];
            // SAFETY: writes at most 8 bytes into our buffer.
            let n = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
            if n != bytes.len() as isize {
                return Err(io::Error::last_os_error());
            }
            u64::from_ne_bytes(bytes)
        }
    };
    // splitmix64: a full-period sequence whose outputs do not reveal the state directly.
    let next = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    STATE.with(|s| s.set(Some(next)));
    let mut z = next;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    Ok(format!("{:016x}", z ^ (z >> 31)))
}

/// The part of a temp file's name that says which job made it: the first 8 bytes of its GUID
/// in hex, so leftovers of ended jobs can be told from other state directories' files.
pub fn temp_tag(job: &crate::model::Guid) -> String {
    let mut first = [0u8; 8];
    first.copy_from_slice(&job.0[..8]);
    format!("{:016x}", u64::from_be_bytes(first))
}

/// The job tag in a temp file's name, when the name is one of ours.
pub fn temp_tag_of(name: &OsStr) -> Option<String> {
    let name = name.to_str()?;
    let rest = name.strip_prefix(TEMP_PREFIX)?.strip_suffix(TEMP_SUFFIX)?;
    let (tag, random) = rest.split_once('-')?;
    (tag.len() == 16
        && random.len() == 16
        && tag
            .bytes()
            .chain(random.bytes())
            .all(|b| b.is_ascii_hexdigit()))
    .then(|| tag.to_string())
}

/// Creates a new, empty temp file (mode 0600) named `.bgcopy-<tag>-<random>.tmp` in the
/// directory of `destination`, exclusively and without following links. Returns the open file
/// and its path.
pub fn create_temp(destination: &Path, tag: &str) -> io::Result<(File, PathBuf)> {
    let (dir, _) = split(destination)?;
    for _ in 0..16 {
        let name = format!("{TEMP_PREFIX}{tag}-{}{TEMP_SUFFIX}", random_hex()?);
        // Sized once: `Path::join` copies the directory and then grows the copy, a `realloc`
        // for every temp file.
        let mut path = PathBuf::with_capacity(dir.as_os_str().len() + 1 + name.len());
        path.push(dir);
        path.push(name);
        // One open by full path: the directory's path is resolved as opening it would, and
        // O_EXCL | O_NOFOLLOW refuse anything already at the name, a symlink included.
        match open_fd(
            &path,
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
        ) {
            Ok(fd) => return Ok((File::from(fd), path)),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::from_raw_os_error(libc::EEXIST))
}

/// Reopens an existing temp file for writing, refusing a symlink or anything that is not a
/// regular file with a single link (so nothing planted in its place gets written).
pub fn reopen_temp(temp: &Path) -> io::Result<File> {
    let file = File::from(open_fd(temp, libc::O_WRONLY | libc::O_NOFOLLOW)?);
    let meta = file.metadata()?;
    use std::os::unix::fs::MetadataExt;
    if !meta.file_type().is_file() || meta.nlink() != 1 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    Ok(file)
}

/// One directory, held open (`O_PATH`) to look at many of its entries without walking its
/// path again for each (a batch of AddFile checks).
pub struct DirProbe {
    dir: PathBuf,
    fd: OwnedFd,
    /// Listed by [`DirProbe::check_for_subdirs`] and found to hold no directory.
    no_subdirs: bool,
}

impl DirProbe {
    /// Opens `dir` for lookups (needs no read permission on it).
    pub fn open(dir: &Path) -> io::Result<DirProbe> {
        Ok(DirProbe {
            dir: dir.to_path_buf(),
            fd: open_fd(dir, libc::O_PATH | libc::O_DIRECTORY)?,
            no_subdirs: false,
        })
    }

    /// Lists the directory once: when it holds no directory at all, no name in it can be one,
    /// and [`DirProbe::is_dir`] needs no system call. For a large batch of names that is
    /// cheaper than a lookup per name (a lookup of an absent name costs about as much as
    /// reading a few dozen entries). A directory that holds a directory keeps the lookups: a
    /// case-insensitive file system, for one, would find it under another spelling. Gives up
    /// after `limit` entries, or when the directory cannot be listed.
    pub fn check_for_subdirs(&mut self, limit: usize) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for (n, entry) in entries.enumerate() {
            // The entry's type as the directory records it (an `lstat` where the file system
            // does not): a symlink is not followed, as in the lookup.
            match entry.and_then(|e| e.file_type()) {
                Ok(t) if n < limit && !t.is_dir() => {}
                _ => return,
            }
        }
        self.no_subdirs = true;
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the entry `name` is a directory (a symlink is not followed; absent: `false`).
    pub fn is_dir(&self, name: &OsStr) -> bool {
        if self.no_subdirs {
            return false;
        }
        let Ok(c) = cstr(name) else {
            return false;
        };
        // SAFETY: an all-zero `stat` is a valid value to be overwritten.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid descriptor, NUL-terminated name, and a `stat` to write.
        let rc = unsafe {
            libc::fstatat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        rc == 0 && st.st_mode & libc::S_IFMT == libc::S_IFDIR
    }
}

/// Flushes to disk everything written on the file system that holds `dir` (one `syncfs` call),
/// so temp files written without per-file fsyncs are durable before they are renamed into
/// place: a crash after the rename can never show a final file with missing bytes.
pub fn sync_filesystem(dir: &Path) -> io::Result<()> {
    let dirfd = open_dir(dir)?;
    // SAFETY: valid descriptor.
    if unsafe { libc::syncfs(dirfd.as_raw_fd()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes the renames done in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    let dirfd = open_dir(dir)?;
    // SAFETY: valid descriptor.
    if unsafe { libc::fsync(dirfd.as_raw_fd()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Renames `temp` to `destination` (same directory) atomically, replacing what is there. The
/// caller syncs the file system before ([`sync_filesystem`]) and the directory after
/// ([`sync_dir`]), once for many files.
pub fn rename_into_place(temp: &Path, destination: &Path) -> io::Result<()> {
    Renamer::default().rename(temp, destination)
}

/// Renames many temp files into place, opening each directory once for a run of files in the
/// same directory (a Complete of many files).
#[derive(Default)]
pub struct Renamer {
    dir: Option<(PathBuf, OwnedFd)>,
}

impl Renamer {
    /// [`rename_into_place`], with the directory's descriptor kept for the next file.
    pub fn rename(&mut self, temp: &Path, destination: &Path) -> io::Result<()> {
        let (dir, final_name) = split(destination)?;
        let (temp_dir, temp_name) = split(temp)?;
        if temp_dir != dir {
            return Err(io::Error::from_raw_os_error(libc::EXDEV));
        }
        let dirfd = match &self.dir {
            Some((open, fd)) if open == dir => fd,
            _ => &self.dir.insert((dir.to_path_buf(), open_dir(dir)?)).1,
        };
        rename_at(dirfd, temp_name, final_name)
    }
}

fn rename_at(dirfd: &OwnedFd, temp_name: &OsStr, final_name: &OsStr) -> io::Result<()> {
    let from = cstr(temp_name)?;
    let to = cstr(final_name)?;
    // SAFETY: valid descriptors and NUL-terminated names.
    let rc = unsafe {
        libc::renameat(
            dirfd.as_raw_fd(),
            from.as_ptr(),
            dirfd.as_raw_fd(),
            to.as_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Deletes a temp file; one that is already gone counts as deleted.
pub fn remove_temp(temp: &Path) -> io::Result<()> {
    let (dir, name) = split(temp)?;
    let dirfd = open_dir(dir)?;
    let c = cstr(name)?;
    // SAFETY: valid descriptor and NUL-terminated name.
    let rc = unsafe { libc::unlinkat(dirfd.as_raw_fd(), c.as_ptr(), 0) };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::ENOENT) {
        Ok(())
    } else {
        Err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("bgcopy-fsx-{tag}-{}", random_hex().unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_listed_directory_answers_as_lookups_do() {
        let dir = scratch("probe");
        let plain = dir.join("plain");
        std::fs::create_dir(&plain).unwrap();
        std::fs::write(plain.join("file"), b"x").unwrap();
        std::os::unix::fs::symlink(&dir, plain.join("link")).unwrap();
        let names = ["file", "link", "absent"].map(OsStr::new);
        // No directory in it: no name can be one, and none is looked up.
        let mut listed = DirProbe::open(&plain).unwrap();
        listed.check_for_subdirs(2);
        assert!(listed.no_subdirs);
        let looked_up = DirProbe::open(&plain).unwrap();
        for n in names {
            assert!(!listed.is_dir(n) && !looked_up.is_dir(n), "{n:?}");
        }
        // More entries than the limit: names are looked up.
        let mut crowded = DirProbe::open(&plain).unwrap();
        crowded.check_for_subdirs(1);
        assert!(!crowded.no_subdirs);
        // A directory in it: names are looked up, and the directory is found.
        std::fs::create_dir(plain.join("sub")).unwrap();
        let mut with_sub = DirProbe::open(&plain).unwrap();
        with_sub.check_for_subdirs(100);
        assert!(!with_sub.no_subdirs);
        assert!(with_sub.is_dir(OsStr::new("sub")));
        assert!(!with_sub.is_dir(OsStr::new("link")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temp_then_rename_replaces_a_planted_symlink_without_following_it() {
        let dir = scratch("rename");
        let victim = dir.join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let dest = dir.join("out");
        std::os::unix::fs::symlink(&victim, &dest).unwrap();
        let (mut f, temp) = create_temp(&dest, "0011223344556677").unwrap();
        assert_eq!(
            temp_tag_of(temp.file_name().unwrap()).as_deref(),
            Some("0011223344556677")
        );
        f.write_all(b"new").unwrap();
        drop(f);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&temp).unwrap().permissions().mode() & 0o777,
            0o600
        );
        rename_into_place(&temp, &dest).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        assert!(!std::fs::symlink_metadata(&dest)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reopen_refuses_a_symlink_and_remove_tolerates_missing() {
        let dir = scratch("reopen");
        let target = dir.join("target");
        std::fs::write(&target, b"x").unwrap();
        let link = dir.join(".bgcopy-link.tmp");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(reopen_temp(&link).is_err());
        remove_temp(&dir.join("missing")).unwrap();
        let dest_dir = dir.join("isdir");
        std::fs::create_dir(&dest_dir).unwrap();
        let (_, temp) = create_temp(&dest_dir, "0011223344556677").unwrap();
        assert!(rename_into_place(&temp, &dest_dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
