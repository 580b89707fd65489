//! The plugin's key sets: the pipeline's fetch, from the options instead of the network.
//!
//! - `jwks` (inline) is parsed again whenever the key cache asks (its TTL is a day: nothing changes it but a
//!   configuration reload, which builds a new middleware).
//! - `jwksFile` is read through WASI whenever the key cache asks: at load, on a token with an unknown `kid` (at
//!   most once per cooldown, [`crate::keycache::KeyCachePolicy::unknown_kid_cooldown`]) and every
//!   [`FILE_TTL`] seconds. Before each request, [`Keys::changed`] compares the file's modification time and
//!   length (one `stat`), so a rotated file takes effect at once in every pooled instance — a removed key stops
//!   verifying at the next request, not only in the instance that happened to see the new `kid`.
//!
//! Nothing here waits or fetches over the network.

use std::time::SystemTime;

use super::options::KeySource;
use crate::error::Error;
use crate::jwk::{KeySet, MAX_JWKS_BYTES};
use crate::keycache::{FetchOutcome, KeyCachePolicy};

/// Seconds a `jwksFile` read stays fresh before the key cache reads it again.
pub const FILE_TTL: u64 = 300;

/// What a file looked like when it was last read or checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stamp {
    /// It could not be read.
    Missing,
    /// Modification time and length.
    At(Option<SystemTime>, u64),
}

#[derive(Debug)]
struct Source {
    spec: KeySource,
    /// The file's stamp at the last read (`None`: never read; inline sets have none).
    read: Option<Stamp>,
}

/// Every issuer's key source (index `i` is issuer `i`).
#[derive(Debug)]
pub struct Keys {
    sources: Vec<Source>,
}

fn stamp(path: &str) -> Stamp {
    match std::fs::metadata(path) {
        Ok(m) => Stamp::At(m.modified().ok(), m.len()),
        Err(_) => Stamp::Missing,
    }
}

impl Keys {
    /// The sources, in issuer order.
    pub fn new(specs: Vec<KeySource>) -> Keys {
        Keys { sources: specs.into_iter().map(|spec| Source { spec, read: None }).collect() }
    }

    /// Read issuer `issuer`'s key set now (the pipeline's fetch).
    pub fn fetch(&mut self, issuer: usize) -> FetchOutcome {
        let Some(source) = self.sources.get_mut(issuer) else {
            return FetchOutcome::Failed(Error::KeysUnavailable { reason: "no key source for this issuer".into() });
        };
        let (bytes, max_age) = match &source.spec {
            KeySource::Inline(text) => (Ok(text.clone().into_bytes()), KeyCachePolicy::default().max_ttl),
            KeySource::File(path) => {
                source.read = Some(stamp(path));
                (read_file(path), FILE_TTL)
            }
        };
        match bytes.and_then(|b| KeySet::from_json(&b)) {
            Ok(keys) => FetchOutcome::Loaded { keys, max_age: Some(max_age) },
            Err(e) => FetchOutcome::Failed(e),
        }
    }

    /// The issuers whose `jwksFile` changed (modification time or length) since it was last read. A file never
    /// read is left to the pipeline's first fetch.
    pub fn changed(&self) -> Vec<usize> {
        let mut out = Vec::new();
        for (i, source) in self.sources.iter().enumerate() {
            if let (KeySource::File(path), Some(read)) = (&source.spec, source.read)
                && stamp(path) != read
            {
                out.push(i);
            }
        }
        out
    }

    /// Where issuer `issuer`'s keys come from, for the log (a path, or `jwks`).
    pub fn describe(&self, issuer: usize) -> String {
        match self.sources.get(issuer).map(|s| &s.spec) {
            Some(KeySource::File(path)) => format!("jwksFile {path}"),
            Some(KeySource::Inline(_)) => "jwks".into(),
            None => "no key source".into(),
        }
    }
}

/// The file's bytes, at most [`MAX_JWKS_BYTES`] (a longer file is refused by the parser).
fn read_file(path: &str) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let fail = |e: std::io::Error| Error::KeysUnavailable {
        reason: format!(
            "jwksFile cannot be read ({e}): mount its directory in the static configuration's \
             experimental.localPlugins.<name>.settings.mounts and give the path inside it"
        ),
    };
    let mut out = Vec::new();
    std::fs::File::open(path).and_then(|f| f.take(MAX_JWKS_BYTES as u64 + 1).read_to_end(&mut out)).map_err(fail)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET_A: &str =
        r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"a"}]}"#;
    const SET_B: &str =
        r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"bb"}]}"#;

    fn kids(outcome: FetchOutcome) -> Vec<String> {
        match outcome {
            FetchOutcome::Loaded { keys, max_age } => {
                assert!(max_age.is_some());
                keys.keys().iter().filter_map(|k| k.kid.clone()).collect()
            }
            FetchOutcome::Failed(e) => panic!("{e}"),
        }
    }

    #[test]
    fn files_are_reread_when_asked_and_changes_are_seen() {
        let dir = std::env::temp_dir().join(format!("pocketgate-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("jwks.json");
        std::fs::write(&path, SET_A).unwrap();
        let mut keys = Keys::new(vec![KeySource::File(path.display().to_string()), KeySource::Inline(SET_B.into())]);
        assert_eq!(keys.changed(), Vec::<usize>::new(), "never read: the pipeline's first fetch reads it");
        assert_eq!(kids(keys.fetch(0)), ["a"]);
        assert_eq!(kids(keys.fetch(1)), ["bb"]);
        assert_eq!(keys.changed(), Vec::<usize>::new());
        std::fs::write(&path, SET_B).unwrap(); // another length: seen even within the same mtime tick
        assert_eq!(keys.changed(), [0]);
        assert_eq!(keys.changed(), [0], "until it is read");
        assert_eq!(kids(keys.fetch(0)), ["bb"]);
        assert_eq!(keys.changed(), Vec::<usize>::new());
        std::fs::remove_file(&path).unwrap();
        assert_eq!(keys.changed(), [0]);
        match keys.fetch(0) {
            FetchOutcome::Failed(e) => assert!(e.to_string().contains("settings.mounts"), "{e}"),
            FetchOutcome::Loaded { .. } => panic!("a missing file loads nothing"),
        }
        assert_eq!(keys.changed(), Vec::<usize>::new(), "still missing: nothing new");
        std::fs::write(&path, "not json").unwrap();
        assert_eq!(keys.changed(), [0]);
        assert!(matches!(keys.fetch(0), FetchOutcome::Failed(Error::JwksInvalid { .. })));
        assert_eq!(keys.describe(0), format!("jwksFile {}", path.display()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
