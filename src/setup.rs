//! Opening the accounts: which store the options name, and the [`Service`] over it, the
//! same for the app, the commands and the server.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{Cost, Service};
use crate::store::{
    EventFile, EventLog, JsonFile, LockNotice, PostgresStore, StoreError, StoreUrl, default_path,
};

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
/// error here, before any change.
pub fn open(settings: &Settings, notice: LockNotice) -> Result<(Service, Arc<dyn EventLog>), StoreError> {
    match &settings.store {
        StoreUrl::Json(path) => Ok(open_json(path, settings.cost, settings.lock_timeout, notice)),
        StoreUrl::Sqlite(_) => Err(StoreError::Unsupported {
            store: settings.store.to_string(),
        }),
        StoreUrl::Postgres(url) => open_postgres(url, settings.cost, settings.lock_timeout),
    }
}

/// The service over a PostgreSQL database, with the activity log in the same database.
/// Opening connects and checks the schema (creating it in an empty database): an
/// unreachable server, a wrong URL or a newer schema is an error here. `lock_timeout`
/// bounds the wait for a connection and for another process's row lock.
pub fn open_postgres(
    url: &str,
    cost: Cost,
    lock_timeout: Duration,
) -> Result<(Service, Arc<dyn EventLog>), StoreError> {
    let store = PostgresStore::open(url, lock_timeout)?;
    let log: Arc<dyn EventLog> = Arc::new(store.event_log());
    let service = Service::new(store, cost).with_log(Arc::clone(&log));
    Ok((service, log))
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
