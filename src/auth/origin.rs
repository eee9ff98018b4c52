//! Where the person behind the calls of this thread is: the client address of a served
//! session, set by the pool thread for the request it runs ([`scope`]); none for the
//! local terminal and the commands. The activity log records it (`"from"`), a login
//! remembers it, and the throttle tells the owner's known addresses apart by it
//! (docs/security.md rule 36).
//!
//! A thread-local rather than a parameter of every `Service` call: the address is a fact
//! about the request, like the lock notice's destination ([`crate::tui::worker`]), and
//! the calls that log are many.

use std::cell::Cell;
use std::net::SocketAddr;

thread_local! {
    static FROM: Cell<Option<SocketAddr>> = const { Cell::new(None) };
}

/// The address of the calls made on this thread until the guard is dropped (then the
/// one before comes back).
#[must_use = "the address applies only while the guard lives"]
pub struct Scope {
    before: Option<SocketAddr>,
}

pub fn scope(from: Option<SocketAddr>) -> Scope {
    Scope {
        before: FROM.with(|f| f.replace(from)),
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        FROM.with(|f| f.set(self.before));
    }
}

/// The address of the calls on this thread now, if any.
pub fn current() -> Option<SocketAddr> {
    FROM.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_sets_the_address_until_it_is_dropped() {
        let a: SocketAddr = "203.0.113.7:50122".parse().unwrap();
        let b: SocketAddr = "[2001:db8::1]:22".parse().unwrap();
        assert_eq!(current(), None);
        {
            let _outer = scope(Some(a));
            assert_eq!(current(), Some(a));
            {
                let _inner = scope(Some(b));
                assert_eq!(current(), Some(b));
            }
            assert_eq!(current(), Some(a), "the outer address comes back");
            let other = std::thread::spawn(current).join().unwrap();
            assert_eq!(other, None, "another thread has its own");
        }
        assert_eq!(current(), None);
    }
}
