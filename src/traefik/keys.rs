//! The plugin's key sets, from the options instead of the network.
//!
//! - `jwks` (inline) is loaded when the instance starts and parsed again whenever the key cache asks (its TTL is a
//!   day: nothing changes it but a configuration reload, which builds a new middleware).
//! - `jwksFile` is the operator's statement of the keys, read at every request by [`Keys::check`] and compared
//!   with the bytes of the last read (no parse unless the bytes changed; the file stays open while the path names
//!   it, [`super::keyfile`]), so every pooled instance
//!   follows the file at its next request, whatever the file's size or modification time:
//!   - a well-formed key set is loaded as it is ([`StatedKeys`]): a removed key stops verifying, and an empty set
//!     (`{"keys":[]}`) revokes every key (`503 keys_unavailable`, the Worker's answer when it has no usable key);
//!   - a deleted file (the path does not exist) states no keys: the same as an empty set;
//!   - a file that cannot be read or is not a key set is an outage, as a failed fetch is for the Worker: the last
//!     good keys keep serving for `keysStaleSeconds` (the Worker's `KEYS_STALE_SECONDS`) from the last request
//!     that found the file good, then every token is refused (`503 keys_unavailable`). An instance that never
//!     read a good set has no keys to serve and refuses at once.
//!
//!   This differs from a fetched JWKS on purpose: an issuer that serves an empty set is having an outage, an
//!   operator who writes one means it. The file's read is also the pipeline's fetch ([`Keys::fetch`]): the key
//!   cache's refreshes (an unknown `kid`, a retry) get what this request's check read.
//!
//! Nothing here waits or fetches over the network.

use std::fs::File;
use std::io::ErrorKind;

use super::keyfile::{HeldFile, read_at};
use super::options::KeySource;
use crate::error::Error;
use crate::jwk::{KeySet, MAX_JWKS_BYTES};
use crate::keycache::{FetchOutcome, KeyCachePolicy, StatedKeys};
use crate::request::Caches;

/// Bytes read at a time when comparing the file with its last read (into [`KeyFile::chunk`], allocated and
/// zeroed once: nothing is allocated or cleared per request).
const CHUNK: usize = 4096;

/// What the last read of a `jwksFile` found.
#[derive(Debug)]
enum Seen {
    /// A well-formed key set: its bytes.
    Set(Vec<u8>),
    /// Bytes that are not a key set, and why.
    Invalid(Vec<u8>, Error),
    /// The path does not exist.
    Gone,
    /// The file could not be read, and why (the kind tells a new failure from the same one).
    Unreadable(ErrorKind, Error),
}

impl Seen {
    /// The bytes read, when the file could be read.
    fn bytes(&self) -> Option<&[u8]> {
        match self {
            Seen::Set(b) | Seen::Invalid(b, _) => Some(b),
            Seen::Gone | Seen::Unreadable(..) => None,
        }
    }
}

/// What a `jwksFile` says, once read: unlike a fetch ([`FetchOutcome`]), an empty set is a statement, not an outage.
#[derive(Debug)]
enum FileKeys {
    /// Load these keys as they are (a deleted file states an empty set): an empty set revokes every key.
    Stated(KeySet),
    /// No statement (unreadable, or not a key set): an outage; the last good keys serve for the stale window.
    Broken(Error),
}

#[derive(Debug)]
struct KeyFile {
    path: String,
    /// The last read (`None`: never read).
    seen: Option<Seen>,
    /// When a read last found the file good (the stale window of a broken file starts there).
    confirmed: Option<u64>,
    /// The read buffer, [`CHUNK`] bytes.
    chunk: Vec<u8>,
    /// The file, kept open while the path names it.
    held: HeldFile,
}

#[derive(Debug)]
enum Source {
    Inline(String),
    File(KeyFile),
}

/// Every issuer's key source (index `i` is issuer `i`).
#[derive(Debug)]
pub struct Keys {
    sources: Vec<Source>,
}

impl Keys {
    /// The sources, in issuer order.
    pub fn new(specs: Vec<KeySource>) -> Keys {
        let sources = specs
            .into_iter()
            .map(|spec| match spec {
                KeySource::Inline(text) => Source::Inline(text),
                KeySource::File(path) => Source::File(KeyFile {
                    path,
                    seen: None,
                    confirmed: None,
                    chunk: vec![0; CHUNK],
                    held: HeldFile::default(),
                }),
            })
            .collect();
        Keys { sources }
    }

    /// Before each request (and when the instance starts): load an inline set not loaded yet, and bring every
    /// `jwksFile` issuer's keys in `caches` up to date with the file (module documentation). Each change of a
    /// file to a state that refuses tokens is passed to `log` once.
    pub fn check(&mut self, caches: &mut Caches, now: u64, mut log: impl FnMut(&str)) {
        for (issuer, source) in self.sources.iter_mut().enumerate() {
            let Some(cache) = caches.keys.get(issuer) else { continue };
            match source {
                Source::Inline(text) if cache.generation() == 0 => {
                    if let Err(e) = caches.complete(issuer, inline(text), now) {
                        log(&format!("jwks: {e}"));
                    }
                }
                Source::Inline(_) => {}
                Source::File(file) => file.check(issuer, caches, now, &mut log),
            }
        }
    }

    /// Issuer `issuer`'s key set for the pipeline (an initial load, an unknown `kid`, a retry): an inline set
    /// parsed again; for a `jwksFile`, what this request's [`Keys::check`] read, as a fetch outcome.
    pub fn fetch(&self, issuer: usize) -> FetchOutcome {
        match self.sources.get(issuer) {
            Some(Source::Inline(text)) => inline(text),
            Some(Source::File(file)) => match &file.seen {
                Some(Seen::Set(bytes)) => loaded(KeySet::from_json(bytes)),
                Some(Seen::Invalid(_, e) | Seen::Unreadable(_, e)) => FetchOutcome::Failed(e.clone()),
                Some(Seen::Gone) => FetchOutcome::Failed(gone()),
                None => FetchOutcome::Failed(Error::KeysUnavailable { reason: "jwksFile not read yet".into() }),
            },
            None => FetchOutcome::Failed(Error::KeysUnavailable { reason: "no key source for this issuer".into() }),
        }
    }

    /// Where issuer `issuer`'s keys come from, for the log (a path, or `jwks`).
    pub fn describe(&self, issuer: usize) -> String {
        match self.sources.get(issuer) {
            Some(Source::File(file)) => format!("jwksFile {}", file.path),
            Some(Source::Inline(_)) => "jwks".into(),
            None => "no key source".into(),
        }
    }
}

impl KeyFile {
    fn check(&mut self, issuer: usize, caches: &mut Caches, now: u64, log: &mut impl FnMut(&str)) {
        let Some((seen, keys)) = read_if_changed(&self.path, &mut self.held, self.seen.as_ref(), &mut self.chunk)
        else {
            // The same bytes (or the same failure) as the last read: a good file is confirmed, and stated again
            // only when a day's TTL ran out.
            let good = match &self.seen {
                Some(Seen::Set(bytes)) => Some(Some(bytes)),
                Some(Seen::Gone) => Some(None),
                _ => None,
            };
            let Some(bytes) = good else { return };
            self.confirmed = Some(now);
            if caches.keys.get(issuer).is_some_and(|c| !c.is_fresh(now)) {
                let set = bytes.map_or(Ok(KeySet::default()), |b| KeySet::from_json(b));
                if let Ok(set) = set {
                    let _ = caches.state(issuer, StatedKeys(set), now);
                }
            }
            return;
        };
        let gone = matches!(seen, Seen::Gone);
        self.seen = Some(seen);
        match keys {
            FileKeys::Stated(set) => {
                self.confirmed = Some(now);
                let rejected = set.rejected().len();
                if caches.state(issuer, StatedKeys(set), now) == Ok(0) {
                    let what = if gone {
                        "does not exist".to_owned()
                    } else {
                        format!("holds no usable key ({rejected} rejected)")
                    };
                    log(&format!(
                        "jwksFile {} {what}: every token of this issuer is refused (503 keys_unavailable) until it \
                         holds the issuer's keys",
                        self.path
                    ));
                }
            }
            FileKeys::Broken(e) => {
                let Some(cache) = caches.keys.get_mut(issuer) else { return };
                cache.expire_at(self.confirmed.unwrap_or(now));
                let stale = cache.policy().max_stale;
                let _ = caches.complete(issuer, FetchOutcome::Failed(e.clone()), now);
                let then = match self.confirmed {
                    Some(_) => format!(
                        "the last good keys serve for at most keysStaleSeconds ({stale} s) from the last request that \
                         found the file good, then every token of this issuer is refused (503 keys_unavailable)"
                    ),
                    None => "no good key set was read yet: every token of this issuer is refused (503 \
                             keys_unavailable)"
                        .to_owned(),
                };
                log(&format!("jwksFile {}: {e}; {then}", self.path));
            }
        }
    }
}

fn inline(text: &str) -> FetchOutcome {
    loaded(KeySet::from_json(text.as_bytes()))
}

fn loaded(set: Result<KeySet, Error>) -> FetchOutcome {
    match set {
        Ok(keys) => FetchOutcome::Loaded { keys, max_age: Some(KeyCachePolicy::default().max_ttl) },
        Err(e) => FetchOutcome::Failed(e),
    }
}

fn gone() -> Error {
    Error::KeysUnavailable {
        reason: "jwksFile does not exist (a deleted file states no keys; if it should be there, mount its \
                 directory in the static configuration's experimental.localPlugins.<name>.settings.mounts and give \
                 the path inside it)"
            .into(),
    }
}

fn unreadable(e: &std::io::Error) -> Error {
    Error::KeysUnavailable {
        reason: format!(
            "jwksFile cannot be read ({e}): mount its directory in the static configuration's \
             experimental.localPlugins.<name>.settings.mounts and give the path inside it"
        ),
    }
}

/// Read `path` (through `held`, [`super::keyfile`]) and compare it with `last`, chunk by chunk ([`compare`]):
/// `None` when it reads the same (the same bytes, or the same failure); else what it holds now and what that says.
/// An unchanged file under 4 KiB that stays open costs two WASI calls (`path_filestat_get`, one `fd_pread`) and a
/// comparison. At most [`MAX_JWKS_BYTES`] + 1 bytes are read (a longer file is refused by the parser); nothing is
/// allocated unless the bytes differ.
fn read_if_changed(path: &str, held: &mut HeldFile, last: Option<&Seen>, chunk: &mut [u8]) -> Option<(Seen, FileKeys)> {
    let failed = |e: std::io::Error| {
        let seen = match e.kind() {
            ErrorKind::NotFound => Seen::Gone,
            kind => Seen::Unreadable(kind, unreadable(&e)),
        };
        let same = match (&seen, last) {
            (Seen::Gone, Some(Seen::Gone)) => true,
            (Seen::Unreadable(kind, _), Some(Seen::Unreadable(was, _))) => kind == was,
            _ => false,
        };
        let keys = match &seen {
            Seen::Unreadable(_, error) => FileKeys::Broken(error.clone()),
            _ => FileKeys::Stated(KeySet::default()),
        };
        (!same).then_some((seen, keys))
    };
    let bytes = match held.read(path, |file, size| compare(file, size, last.and_then(Seen::bytes), chunk)) {
        Ok(None) => return None,
        Ok(Some(bytes)) => bytes,
        Err(e) => return failed(e),
    };
    Some(match KeySet::from_json(&bytes) {
        Ok(set) => (Seen::Set(bytes), FileKeys::Stated(set)),
        Err(e) => (Seen::Invalid(bytes, e.clone()), FileKeys::Broken(e)),
    })
}

/// `file`'s bytes from offset 0 (at most [`MAX_JWKS_BYTES`] + 1) compared with `before`: `None` when they are the
/// same, else all of them. When the path's stat gave `before`'s size, the bytes up to that size are the whole
/// comparison: one `fd_pread` for a file under 4 KiB, with no read of the end (a file that grows after the stat
/// is seen at the next request).
fn compare(file: &File, size: u64, before: Option<&[u8]>, chunk: &mut [u8]) -> std::io::Result<Option<Vec<u8>>> {
    const LIMIT: usize = MAX_JWKS_BYTES + 1;
    let read = |chunk: &mut [u8], at: usize| loop {
        let want = chunk.len().min(LIMIT - at);
        match read_at(file, &mut chunk[..want], at as u64) {
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            other => return other,
        }
    };
    let old = before.unwrap_or_default();
    let same_size = before.is_some() && size == old.len() as u64;
    let mut at = 0;
    loop {
        let want = if same_size { chunk.len().min(old.len() - at) } else { chunk.len() };
        if want == 0 {
            return Ok(None);
        }
        let n = read(&mut chunk[..want], at)?;
        if n == 0 {
            if before.is_some() && at == old.len() {
                return Ok(None);
            }
            return Ok(Some(old[..at].to_vec()));
        }
        if before.is_some() && old.get(at..at + n) == Some(&chunk[..n]) {
            at += n;
            // A short read of a regular file is its end (wazero's `fd_pread` is Go's `ReadAt`, which reads until
            // the buffer is full or the file ends): the same bytes, without one more (empty) read.
            if n < want && at == old.len() {
                return Ok(None);
            }
            continue;
        }
        // Changed: the rest of the file joins what matched so far.
        let mut bytes = old[..at].to_vec();
        bytes.extend_from_slice(&chunk[..n]);
        loop {
            match read(chunk, bytes.len())? {
                0 => return Ok(Some(bytes)),
                n => bytes.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::alg::Algorithm;
    use crate::keycache::{FetchReason, Resolution};
    use crate::policy::Identity;
    use crate::tokencache::TokenCache;
    use crate::verify::Verified;

    const T0: u64 = 1_700_000_000;
    /// Three Ed25519 public keys (RFC 8032 section 7.1, tests 1–3): three thumbprints.
    const X: [&str; 3] = [
        "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        "PUAXw-hDiVqStwqnTRt-vJyYLM8uxJaMwM1V8Sr0Zgw",
        "_FHNjmIYoaONpH7QAjDwWAgW7RO6MwOsXeuRFUiQgCU",
    ];

    fn set(keys: &[(&str, usize)]) -> String {
        let keys: Vec<String> = keys
            .iter()
            .map(|(kid, x)| format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{}","kid":"{kid}"}}"#, X[*x]))
            .collect();
        format!(r#"{{"keys":[{}]}}"#, keys.join(","))
    }

    /// A scratch directory, removed on drop.
    struct Dir(std::path::PathBuf);
    impl Dir {
        fn new(name: &str) -> Dir {
            let dir = std::env::temp_dir().join(format!("pocketgate-keys-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Dir(dir)
        }
        fn file(&self) -> std::path::PathBuf {
            self.0.join("jwks.json")
        }
        fn path(&self) -> String {
            self.file().display().to_string()
        }
        /// Write `text` in place (truncate and write: the same inode) and set the modification time to `mtime`.
        fn write_at(&self, text: &str, mtime: SystemTime) {
            std::fs::write(self.file(), text).unwrap();
            std::fs::File::options().write(true).open(self.file()).unwrap().set_modified(mtime).unwrap();
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// One issuer with `extra` options: its caches and its key sources (a new plugin instance).
    fn gate(extra: serde_json::Value) -> (Caches, Keys) {
        let mut options = serde_json::json!({"issuer": "https://id.example.com", "audience": "n", "allowGroups": "*"});
        options.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        gate_with(options)
    }

    fn gate_with(options: serde_json::Value) -> (Caches, Keys) {
        let (cfg, sources) = super::super::options::load(options.to_string().as_bytes()).unwrap();
        (Caches::new(&cfg, TokenCache::new(16)), Keys::new(sources))
    }

    /// Run a check, returning what it logged.
    fn check(keys: &mut Keys, caches: &mut Caches, now: u64) -> Vec<String> {
        let mut logged = Vec::new();
        keys.check(caches, now, |m| logged.push(m.to_owned()));
        logged
    }

    /// The kids issuer 0 verifies with at `now`, or the code of the refusal, as the pipeline finds them: a retry
    /// the key cache asks for gets [`Keys::fetch`] (what the last check read).
    fn kids(caches: &mut Caches, keys: &Keys, now: u64) -> Result<Vec<String>, &'static str> {
        let mut fetched = false;
        loop {
            return match caches.keys[0].key_set(now) {
                Resolution::Found(set) => {
                    set.require_usable().map_err(|e| e.code())?;
                    Ok(set.keys().iter().filter_map(|k| k.kid.clone()).collect())
                }
                Resolution::Refused(e) | Resolution::Wait(e) => Err(e.code()),
                Resolution::Fetch(reason) => {
                    assert!(!fetched && reason == FetchReason::Retry, "{reason:?}: the check loads the file");
                    fetched = true;
                    let _ = caches.complete(0, keys.fetch(0), now);
                    continue;
                }
            };
        }
    }

    /// A verified token of issuer 0's key `kid` in the token cache.
    fn cache_token(caches: &mut Caches, token: &str, kid: &str, now: u64) {
        let set = caches.keys[0].keys(now).unwrap();
        let key = set.keys().iter().find(|k| k.kid.as_deref() == Some(kid)).unwrap();
        let identity = Arc::new(Identity { sub: "u".into(), email: None, preferred_username: None, groups: vec![] });
        let verified = Verified {
            issuer: 0,
            alg: Algorithm::EdDSA,
            kid: Some(kid.into()),
            thumbprint: key.thumbprint,
            exp: (now + 3600) as f64,
            identity,
        };
        caches.tokens.insert(token, Arc::new(verified), now);
    }

    #[test]
    fn a_same_size_rewrite_with_the_old_mtime_takes_effect_at_the_next_check() {
        let dir = Dir::new("same-size");
        let (mut caches, mut keys) = gate(serde_json::json!({"jwksFile": dir.path(), "keysStaleSeconds": 60}));
        let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
        let (old, new) = (set(&[("k1", 0)]), set(&[("k2", 1)]));
        assert_eq!(old.len(), new.len());
        dir.write_at(&old, mtime);
        assert!(check(&mut keys, &mut caches, T0).is_empty());
        assert_eq!(kids(&mut caches, &keys, T0), Ok(vec!["k1".into()]));
        cache_token(&mut caches, "old-token", "k1", T0);
        let generation = caches.keys[0].generation();
        for t in T0..T0 + 5 {
            assert!(check(&mut keys, &mut caches, t).is_empty());
        }
        assert_eq!(caches.keys[0].generation(), generation, "unchanged bytes are neither parsed nor loaded again");
        dir.write_at(&format!("{old}\n"), mtime); // one byte more: a change, though the old bytes all match
        check(&mut keys, &mut caches, T0 + 5);
        assert_eq!(caches.keys[0].generation(), generation + 1);
        dir.write_at(&old, mtime);
        check(&mut keys, &mut caches, T0 + 5);
        assert_eq!(caches.keys[0].generation(), generation + 2);
        cache_token(&mut caches, "old-token", "k1", T0);
        let before = std::fs::metadata(dir.file()).unwrap();
        dir.write_at(&new, mtime);
        let after = std::fs::metadata(dir.file()).unwrap();
        assert_eq!((before.len(), before.modified().unwrap()), (after.len(), after.modified().unwrap()));
        assert!(check(&mut keys, &mut caches, T0 + 5).is_empty());
        assert_eq!(kids(&mut caches, &keys, T0 + 5), Ok(vec!["k2".into()]));
        assert_eq!(caches.tokens.len(), 0, "the cached verdict of the removed key is gone");
        assert!(matches!(keys.fetch(0), FetchOutcome::Loaded { keys, .. } if keys.keys().len() == 1));
    }

    #[test]
    fn changes_are_found_past_the_first_chunk_and_in_a_shorter_file() {
        let dir = Dir::new("chunks");
        let (mut caches, mut keys) = gate(serde_json::json!({"jwksFile": dir.path()}));
        let kids_named = |last: &str| {
            let mut list: Vec<(String, usize)> = (0..90).map(|i| (format!("key-{i:03}"), 0)).collect();
            list.last_mut().unwrap().0 = last.to_owned();
            list
        };
        let text = |list: &[(String, usize)]| set(&list.iter().map(|(k, x)| (k.as_str(), *x)).collect::<Vec<_>>());
        let (a, b) = (text(&kids_named("key-aaa")), text(&kids_named("key-bbb")));
        assert!(a.len() > 2 * CHUNK && a.len() == b.len());
        let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
        dir.write_at(&a, mtime);
        check(&mut keys, &mut caches, T0);
        assert!(kids(&mut caches, &keys, T0).unwrap().contains(&"key-aaa".to_owned()));
        dir.write_at(&b, mtime); // differs only in the last chunk
        check(&mut keys, &mut caches, T0 + 1);
        let now = kids(&mut caches, &keys, T0 + 1).unwrap();
        assert!(now.contains(&"key-bbb".to_owned()) && !now.contains(&"key-aaa".to_owned()));
        dir.write_at(&b[..b.len() - 1], mtime); // a prefix of the last read: not JSON any more
        let logged = check(&mut keys, &mut caches, T0 + 2);
        assert_eq!(logged.len(), 1, "{logged:?}");
        assert!(logged[0].contains("key set is invalid"), "{logged:?}");
        assert_eq!(kids(&mut caches, &keys, T0 + 2).unwrap(), now, "the last good keys, for the stale window");
        dir.write_at(&a, mtime);
        check(&mut keys, &mut caches, T0 + 3);
        assert!(kids(&mut caches, &keys, T0 + 3).unwrap().contains(&"key-aaa".to_owned()));
        dir.write_at(&b[..b.len() - 1], mtime);
        check(&mut keys, &mut caches, T0 + 4);
        dir.write_at(&b, mtime); // the last read and one more byte: read to its end, good again
        assert!(check(&mut keys, &mut caches, T0 + 5).is_empty());
        assert!(kids(&mut caches, &keys, T0 + 5).unwrap().contains(&"key-bbb".to_owned()));
        dir.write_at(&format!("{}\n", &b[..b.len() - 1]), mtime); // the same size, only the last byte differs
        let logged = check(&mut keys, &mut caches, T0 + 6);
        assert_eq!(logged.len(), 1, "{logged:?}");
        assert!(logged[0].contains("key set is invalid"), "{logged:?}");
    }

    #[test]
    fn an_empty_set_and_a_deleted_file_revoke_at_once() {
        let dir = Dir::new("revoke");
        let (mut caches, mut keys) = gate(serde_json::json!({"jwksFile": dir.path()}));
        std::fs::write(dir.file(), set(&[("k1", 0)])).unwrap();
        check(&mut keys, &mut caches, T0);
        cache_token(&mut caches, "t", "k1", T0);
        std::fs::write(dir.file(), r#"{"keys":[]}"#).unwrap();
        let logged = check(&mut keys, &mut caches, T0 + 1);
        assert_eq!(
            kids(&mut caches, &keys, T0 + 1),
            Err("keys_unavailable"),
            "the Worker's answer without a usable key"
        );
        assert_eq!(caches.tokens.len(), 0);
        assert_eq!(logged.len(), 1);
        assert!(logged[0].contains("holds no usable key (0 rejected)") && logged[0].contains("503"), "{logged:?}");
        assert!(check(&mut keys, &mut caches, T0 + 2).is_empty(), "logged once");
        // A key the parser rejects is no key either.
        std::fs::write(dir.file(), r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AA","kid":"bad"}]}"#).unwrap();
        assert!(check(&mut keys, &mut caches, T0 + 3)[0].contains("(1 rejected)"));
        assert_eq!(kids(&mut caches, &keys, T0 + 3), Err("keys_unavailable"));

        std::fs::write(dir.file(), set(&[("k1", 0)])).unwrap();
        check(&mut keys, &mut caches, T0 + 4);
        assert_eq!(kids(&mut caches, &keys, T0 + 4), Ok(vec!["k1".into()]));
        cache_token(&mut caches, "t", "k1", T0 + 4);
        std::fs::remove_file(dir.file()).unwrap();
        let logged = check(&mut keys, &mut caches, T0 + 5);
        assert_eq!(kids(&mut caches, &keys, T0 + 5), Err("keys_unavailable"), "deleted: no keys, not the stale window");
        assert_eq!(caches.tokens.len(), 0);
        assert!(logged[0].contains("does not exist"), "{logged:?}");
        assert!(check(&mut keys, &mut caches, T0 + 6).is_empty());
        // A day later, still gone: still no keys (stated again, never a fetch).
        check(&mut keys, &mut caches, T0 + 200_000);
        assert_eq!(kids(&mut caches, &keys, T0 + 200_000), Err("keys_unavailable"));
        std::fs::write(dir.file(), set(&[("k2", 1)])).unwrap();
        check(&mut keys, &mut caches, T0 + 200_001);
        assert_eq!(kids(&mut caches, &keys, T0 + 200_001), Ok(vec!["k2".into()]), "back at the next request");
    }

    #[test]
    fn a_broken_file_keeps_the_last_good_keys_for_keys_stale_seconds_from_the_last_good_read() {
        let dir = Dir::new("stale");
        let (mut caches, mut keys) = gate(serde_json::json!({"jwksFile": dir.path(), "keysStaleSeconds": "30"}));
        assert_eq!(caches.keys[0].policy().max_stale, 30);
        std::fs::write(dir.file(), set(&[("k1", 0)])).unwrap();
        check(&mut keys, &mut caches, T0);
        assert!(check(&mut keys, &mut caches, T0 + 50).is_empty()); // the last good read
        std::fs::write(dir.file(), "{not json").unwrap();
        let logged = check(&mut keys, &mut caches, T0 + 60);
        assert_eq!(logged.len(), 1);
        assert!(
            logged[0].contains("key set is invalid") && logged[0].contains("keysStaleSeconds (30 s)"),
            "{logged:?}"
        );
        assert!(!logged[0].contains("not json"), "never the file's content");
        assert!(matches!(keys.fetch(0), FetchOutcome::Failed(Error::JwksInvalid { .. })), "the pipeline's fetch");
        std::fs::write(dir.file(), "{still not json").unwrap(); // another broken content: the window stays
        assert_eq!(check(&mut keys, &mut caches, T0 + 70).len(), 1);
        assert!(check(&mut keys, &mut caches, T0 + 75).is_empty());
        assert_eq!(kids(&mut caches, &keys, T0 + 79), Ok(vec!["k1".into()]));
        assert_eq!(kids(&mut caches, &keys, T0 + 80), Err("keys_unavailable"), "30 s after the last good read");
        // Unreadable (a directory where the file was): the same window, and a good file ends it.
        std::fs::write(dir.file(), set(&[("k1", 0)])).unwrap();
        check(&mut keys, &mut caches, T0 + 100);
        assert_eq!(kids(&mut caches, &keys, T0 + 100), Ok(vec!["k1".into()]));
        std::fs::remove_file(dir.file()).unwrap();
        std::fs::create_dir(dir.file()).unwrap();
        let logged = check(&mut keys, &mut caches, T0 + 110);
        assert!(logged[0].contains("cannot be read") && logged[0].contains("settings.mounts"), "{logged:?}");
        assert_eq!(kids(&mut caches, &keys, T0 + 129), Ok(vec!["k1".into()]));
        assert_eq!(kids(&mut caches, &keys, T0 + 130), Err("keys_unavailable"));
        std::fs::remove_dir(dir.file()).unwrap();
        std::fs::write(dir.file(), set(&[("k2", 1)])).unwrap();
        check(&mut keys, &mut caches, T0 + 131);
        assert_eq!(kids(&mut caches, &keys, T0 + 131), Ok(vec!["k2".into()]));
    }

    #[test]
    fn zero_stale_seconds_refuses_at_once_and_an_instance_without_a_good_read_has_no_keys() {
        let dir = Dir::new("zero");
        std::fs::write(dir.file(), set(&[("k1", 0)])).unwrap();
        let (mut caches, mut keys) = gate(serde_json::json!({"jwksFile": dir.path(), "keysStaleSeconds": 0}));
        check(&mut keys, &mut caches, T0);
        std::fs::write(dir.file(), "[]").unwrap();
        check(&mut keys, &mut caches, T0);
        assert_eq!(kids(&mut caches, &keys, T0), Err("keys_unavailable"));
        // A new instance (a new pool member) that starts while the file is broken: no last good keys.
        let (mut caches, mut keys) = gate(serde_json::json!({"jwksFile": dir.path()}));
        let logged = check(&mut keys, &mut caches, T0);
        assert!(logged[0].contains("no good key set was read yet"), "{logged:?}");
        assert_eq!(kids(&mut caches, &keys, T0), Err("keys_unavailable"));
    }

    #[test]
    fn a_good_file_stays_fresh_and_inline_sets_load_once() {
        let dir = Dir::new("fresh");
        std::fs::write(dir.file(), set(&[("k1", 0)])).unwrap();
        let (mut caches, mut keys) = gate_with(serde_json::json!({"issuers": [
            {"issuer": "https://a.example", "audience": "a", "allowGroups": "*", "jwksFile": dir.path()},
            {"issuer": "https://b.example", "audience": "b", "allowGroups": "*", "jwks": set(&[("i1", 2)])},
        ]}));
        check(&mut keys, &mut caches, T0);
        assert_eq!(caches.keys[1].generation(), 1);
        let day = KeyCachePolicy::default().max_ttl;
        for t in [T0 + 1, T0 + day - 1, T0 + day, T0 + 3 * day] {
            check(&mut keys, &mut caches, t);
            assert!(caches.keys[0].is_fresh(t), "the file is stated again when the TTL runs out, t = T0 + {}", t - T0);
        }
        assert_eq!(caches.keys[0].generation(), 3, "T0, T0 + day, T0 + 3 days");
        assert_eq!(caches.keys[1].generation(), 1, "the inline set is left to the key cache's TTL");
        assert!(matches!(keys.fetch(1), FetchOutcome::Loaded { .. }));
        assert_eq!(keys.describe(0), format!("jwksFile {}", dir.path()));
        assert_eq!(keys.describe(1), "jwks");
    }
}
