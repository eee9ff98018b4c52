//! Opening the accounts: which store the options name, and the [`Service`] over it, the
//! same for the app, the commands and the server.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{Cost, Service};
use crate::store::{
    EventFile, EventLog, JsonFile, LockNotice, PostgresStore, SqliteStore, StoreError, StoreUrl, UserStore,
    default_path,
};

/// A store shared by whoever opened it.
pub type SharedStore = Arc<dyn UserStore>;

/// How to open the store, from the command line.
#[derive(Clone)]
pub struct Settings {
    pub store: StoreUrl,
    pub cost: Cost,
    /// How long to wait for another process's lock (users.json) or a database's.
    pub lock_timeout: Duration,
}

/// The store the options name: `--store URL`, else `--data-file PATH` (what `json:PATH`
/// means), else `users.json` in the platform data directory. Both at once is an error.
pub fn store_url(store: Option<&StoreUrl>, data_file: Option<&Path>) -> Result<StoreUrl, String> {
    match (store, data_file) {
        (Some(_), Some(_)) => Err(
            "--store and --data-file both name a store: give one (--data-file PATH means --store json:PATH)"
                .to_owned(),
        ),
        (Some(url), None) => Ok(url.clone()),
        (None, Some(path)) => Ok(StoreUrl::Json(path.to_path_buf())),
        (None, None) => default_path().map(StoreUrl::Json).ok_or_else(|| {
            "cannot find a data directory (is $HOME set?): pass --store URL or --data-file PATH".to_owned()
        }),
    }
}

/// The service over the store `settings` name, and a handle on its activity log (to ask
/// what a read of it skipped). `notice` is called when a wait for a lock grows long.
/// Nothing is written by opening: a store that is unreachable, or of a newer schema, is an
/// error here, before any change. [`warnings`] says what people should know of it.
pub fn open(settings: &Settings, notice: LockNotice) -> Result<(Service, Arc<dyn EventLog>), StoreError> {
    let (store, log) = open_store(&settings.store, settings.lock_timeout, notice)?;
    Ok((Service::new(store, settings.cost).with_log(Arc::clone(&log)), log))
}

/// The store `url` names and its activity log, without the rules on top (a migration
/// copies records as they are). Nothing is written by opening, except the schema of an
/// empty PostgreSQL database. A PostgreSQL store connects and checks its schema here: an
/// unreachable server, a wrong URL or a newer schema is an error; `lock_timeout` bounds
/// the wait for a connection and for another process's row lock.
pub fn open_store(
    url: &StoreUrl,
    lock_timeout: Duration,
    notice: LockNotice,
) -> Result<(SharedStore, Arc<dyn EventLog>), StoreError> {
    match url {
        StoreUrl::Json(path) => {
            let store = JsonFile::new(path)
                .with_lock_timeout(lock_timeout)
                .with_lock_notice(notice);
            Ok((Arc::new(store), Arc::new(EventFile::beside(path))))
        }
        StoreUrl::Sqlite(path) => {
            let store = Arc::new(SqliteStore::open(path, lock_timeout)?);
            Ok((store.clone(), store))
        }
        StoreUrl::Postgres(url) => {
            let store = PostgresStore::open(url, lock_timeout)?;
            let log: Arc<dyn EventLog> = Arc::new(store.event_log());
            Ok((Arc::new(store), log))
        }
    }
}

/// Upgrades the schema of a database store to this build's (`authtui upgrade-store`):
/// the versions it went from and to, or `None` when it was current (or empty). A
/// users.json has no schema to upgrade: its new fields are optional.
pub fn upgrade_store(url: &StoreUrl, lock_timeout: Duration) -> Result<Option<(i64, i64)>, StoreError> {
    match url {
        StoreUrl::Json(_) => Ok(None),
        StoreUrl::Sqlite(path) => SqliteStore::upgrade(path, lock_timeout),
        StoreUrl::Postgres(url) => crate::store::postgres_upgrade(url, lock_timeout),
    }
}

/// The service over `users.json` at `path`, with `events.jsonl` beside it. Opening reads
/// and writes nothing (a missing file is an empty store), so it cannot fail.
pub fn open_json(
    path: &Path,
    cost: Cost,
    lock_timeout: Duration,
    notice: LockNotice,
) -> (Service, Arc<dyn EventLog>) {
    let store = JsonFile::new(path)
        .with_lock_timeout(lock_timeout)
        .with_lock_notice(notice);
    let log: Arc<dyn EventLog> = Arc::new(EventFile::beside(path));
    let service = Service::new(store, cost).with_log(Arc::clone(&log));
    (service, log)
}

/// What people should know about the store before they use it (a SQLite database on a
/// network file system), one line each.
pub fn warnings(store: &StoreUrl) -> Vec<String> {
    match store {
        StoreUrl::Sqlite(path) => crate::store::network_fs_warning(path).into_iter().collect(),
        StoreUrl::Json(_) | StoreUrl::Postgres(_) => Vec::new(),
    }
}
