//! `Extensions`: a small type map a request carries from middleware to handlers.

use std::any::{Any, TypeId};
use std::fmt;

/// Values keyed by their type, carried by a [`Request`](super::Request): what one layer (an
/// authentication middleware, a request-id generator) leaves for the next.
///
/// Empty extensions allocate nothing; a request holds few values, so lookups scan a short list.
///
/// # Examples
///
/// ```
/// use nanoapi::server::Extensions;
///
/// #[derive(Debug, PartialEq)]
/// struct UserId(u64);
///
/// let mut ext = Extensions::new();
/// assert!(ext.get::<UserId>().is_none());
/// ext.insert(UserId(7));
/// assert_eq!(ext.get::<UserId>(), Some(&UserId(7)));
/// assert_eq!(ext.insert(UserId(8)), Some(UserId(7)));
/// assert_eq!(ext.remove::<UserId>(), Some(UserId(8)));
/// ```
#[derive(Default)]
pub struct Extensions {
    entries: Vec<(TypeId, Box<dyn Any>)>,
}

impl Extensions {
    /// No values.
    pub fn new() -> Extensions {
        Extensions::default()
    }

    /// Stores `value`, returning the value of the same type it replaces.
    pub fn insert<T: 'static>(&mut self, value: T) -> Option<T> {
        let id = TypeId::of::<T>();
        let boxed: Box<dyn Any> = Box::new(value);
        match self.entries.iter_mut().find(|(key, _)| *key == id) {
            Some((_, slot)) => std::mem::replace(slot, boxed)
                .downcast()
                .ok()
                .map(|old| *old),
            None => {
                self.entries.push((id, boxed));
                None
            }
        }
    }

    /// The value of type `T`, if one was stored.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        let id = TypeId::of::<T>();
        self.entries
            .iter()
            .find(|(key, _)| *key == id)
            .and_then(|(_, value)| value.downcast_ref())
    }

    /// The value of type `T`, mutably.
    pub fn get_mut<T: 'static>(&mut self) -> Option<&mut T> {
        let id = TypeId::of::<T>();
        self.entries
            .iter_mut()
            .find(|(key, _)| *key == id)
            .and_then(|(_, value)| value.downcast_mut())
    }

    /// Takes the value of type `T` out.
    pub fn remove<T: 'static>(&mut self) -> Option<T> {
        let id = TypeId::of::<T>();
        let index = self.entries.iter().position(|(key, _)| *key == id)?;
        self.entries
            .swap_remove(index)
            .1
            .downcast()
            .ok()
            .map(|value| *value)
    }

    /// How many values are stored.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no value is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extensions")
            .field("len", &self.entries.len())
            .finish()
    }
}
