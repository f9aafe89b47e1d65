//! A list that keeps its first `N` items inline and moves to the heap only past them: for the
//! few items a request usually has (path captures, header spans), so that the common request
//! allocates nothing for them.

use std::mem::MaybeUninit;

/// Up to `N` items inline, any number on the heap. Only the items pushed are ever written,
/// read or dropped: an empty list costs its length field, not `N` default values.
pub(crate) struct SmallList<T, const N: usize>(Repr<T, N>);

/// The list's storage, private to this module so that only its methods keep the invariant.
enum Repr<T, const N: usize> {
    /// `items[..len]` are initialised; the rest are not.
    Inline {
        items: [MaybeUninit<T>; N],
        len: usize,
    },
    Heap(Vec<T>),
}

impl<T, const N: usize> Default for SmallList<T, N> {
    fn default() -> SmallList<T, N> {
        SmallList(Repr::Inline {
            items: [const { MaybeUninit::uninit() }; N],
            len: 0,
        })
    }
}

impl<T, const N: usize> SmallList<T, N> {
    /// An empty list with room for `capacity` items (on the heap if that is more than `N`).
    pub(crate) fn with_capacity(capacity: usize) -> SmallList<T, N> {
        if capacity > N {
            SmallList(Repr::Heap(Vec::with_capacity(capacity)))
        } else {
            SmallList::default()
        }
    }

    pub(crate) fn push(&mut self, item: T) {
        match &mut self.0 {
            Repr::Inline { items, len } if *len < N => {
                items[*len].write(item);
                *len += 1;
            }
            Repr::Inline { .. } => {
                let mut heap = Vec::with_capacity(2 * N.max(1));
                heap.extend(self.drain_inline());
                heap.push(item);
                self.0 = Repr::Heap(heap);
            }
            Repr::Heap(heap) => heap.push(item),
        }
    }

    pub(crate) fn pop(&mut self) -> Option<T> {
        match &mut self.0 {
            Repr::Inline { len: 0, .. } => None,
            Repr::Inline { items, len } => {
                *len -= 1;
                // SAFETY: `items[..len]` were initialised (the invariant); the length is
                // lowered first, so the item read out is never read or dropped again.
                Some(unsafe { items[*len].assume_init_read() })
            }
            Repr::Heap(heap) => heap.pop(),
        }
    }

    pub(crate) fn clear(&mut self) {
        match &mut self.0 {
            Repr::Inline { items, len } => {
                let live = std::ptr::from_mut(&mut items[..*len]) as *mut [T];
                *len = 0;
                // SAFETY: `live` covers the items that were initialised; the length is 0 first,
                // so none is dropped again, even if one's drop panics (the rest are still
                // dropped, as `drop_in_place` on a slice does).
                unsafe { std::ptr::drop_in_place(live) }
            }
            Repr::Heap(heap) => heap.clear(),
        }
    }

    pub(crate) fn as_slice(&self) -> &[T] {
        match &self.0 {
            Repr::Inline { items, len } => {
                // SAFETY: `items[..len]` are initialised, and `MaybeUninit<T>` has `T`'s
                // layout, so they are `len` consecutive `T`s.
                unsafe { std::slice::from_raw_parts(items.as_ptr().cast::<T>(), *len) }
            }
            Repr::Heap(heap) => heap,
        }
    }

    /// Takes the inline items out in order, leaving the list empty (a heap list is left as
    /// it is, and yields nothing).
    fn drain_inline(&mut self) -> impl Iterator<Item = T> + '_ {
        let (items, count) = match &mut self.0 {
            Repr::Inline { items, len } => (&mut items[..], std::mem::take(len)),
            Repr::Heap(_) => (&mut [][..], 0),
        };
        // SAFETY: the first `count` items were initialised, and the length is already 0, so
        // each is read out exactly once and never dropped in place (an iterator dropped before
        // its end leaks the rest, which is safe).
        items[..count]
            .iter_mut()
            .map(|item| unsafe { item.assume_init_read() })
    }
}

impl<T, const N: usize> Drop for SmallList<T, N> {
    fn drop(&mut self) {
        if let Repr::Inline { items, len } = &mut self.0 {
            let live = std::ptr::from_mut(&mut items[..*len]) as *mut [T];
            // SAFETY: `live` covers exactly `items[..len]`, the initialised items (same layout
            // as `T`s), dropped here once: the list is not used after.
            unsafe { std::ptr::drop_in_place(live) }
        }
    }
}

impl<T: std::fmt::Debug, const N: usize> std::fmt::Debug for SmallList<T, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{Repr, SmallList};

    #[test]
    fn items_stay_in_order_across_the_move_to_the_heap() {
        let mut list = SmallList::<String, 2>::default();
        for word in ["a", "b", "c"] {
            list.push(word.to_owned());
        }
        assert!(matches!(list.0, Repr::Heap(_)));
        assert_eq!(list.as_slice(), ["a", "b", "c"]);
        assert_eq!(list.pop().as_deref(), Some("c"));
        list.clear();
        assert!(list.as_slice().is_empty());

        let mut inline = SmallList::<u8, 2>::with_capacity(2);
        inline.push(1);
        assert_eq!(inline.pop(), Some(1));
        assert_eq!(inline.pop(), None);
        assert!(matches!(inline.0, Repr::Inline { .. }));
        assert!(matches!(
            SmallList::<u8, 2>::with_capacity(3).0,
            Repr::Heap(_)
        ));
    }

    /// Every item pushed is dropped exactly once, whether popped, cleared, moved to the heap
    /// or left in the list, and nothing is dropped that was never pushed.
    #[test]
    fn each_item_is_dropped_once() {
        use std::rc::Rc;
        let item = Rc::new(());
        for pushed in 0..6 {
            for popped in 0..=pushed {
                let mut list = SmallList::<Rc<()>, 3>::default();
                for _ in 0..pushed {
                    list.push(item.clone());
                }
                assert_eq!(Rc::strong_count(&item), 1 + pushed);
                for _ in 0..popped {
                    drop(list.pop().unwrap());
                }
                assert_eq!(list.as_slice().len(), pushed - popped);
                assert_eq!(Rc::strong_count(&item), 1 + pushed - popped);
                if popped % 2 == 0 {
                    list.clear();
                    assert_eq!(Rc::strong_count(&item), 1);
                }
                drop(list);
                assert_eq!(Rc::strong_count(&item), 1);
            }
        }
    }
}
