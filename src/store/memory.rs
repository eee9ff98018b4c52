use std::sync::Mutex;

use super::{Change, StoreError, UserMap, UserRecord, UserStore, Users, change_one, insert_new_by};

/// Accounts held in memory: for tests, and for programs that keep accounts elsewhere.
#[derive(Debug, Default)]
pub struct MemoryStore {
    users: Mutex<Users>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_users(users: Users) -> Self {
        MemoryStore {
            users: Mutex::new(users),
        }
    }

    fn users(&self) -> std::sync::MutexGuard<'_, Users> {
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Read-modify-write of every account at once, atomically.
    pub fn update(&self, change: &mut dyn FnMut(&mut Users) -> Change) -> Result<(), StoreError> {
        let mut guard = self.users();
        let mut copy = guard.clone();
        if change(&mut copy) == Change::Save {
            *guard = copy;
        }
        Ok(())
    }
}

impl UserStore for MemoryStore {
    fn get(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.users().get(username))
    }

    fn all(&self) -> Result<UserMap, StoreError> {
        Ok(self.users().to_map())
    }

    fn update_user(
        &self,
        username: &str,
        change: &mut dyn FnMut(&mut Option<UserRecord>) -> Change,
    ) -> Result<(), StoreError> {
        self.update(&mut |users| change_one(users, username, change))
    }

    fn insert_new(&self, accounts: &[(String, UserRecord)]) -> Result<Vec<bool>, StoreError> {
        insert_new_by(|change| self.update(change), accounts)
    }

    /// Nothing to write: memory has no save whose time could tell anything.
    fn rewrite(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn location(&self) -> String {
        "memory".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_made_with_accounts_has_them() {
        let users: Users = [("alice".to_owned(), UserRecord::default())]
            .into_iter()
            .collect();
        let store = MemoryStore::with_users(users);
        assert_eq!(store.get("alice").unwrap(), Some(UserRecord::default()));
        assert_eq!(store.all().unwrap().len(), 1);
    }
}
