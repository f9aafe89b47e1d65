//! A list that keeps its first `N` items inline and moves to the heap only past them: for the
//! few items a request usually has (path captures, header spans), so that the common request
//! allocates nothing for them.

use std::mem::MaybeUninit;

/// Up to `N` items inline, any number on the heap. Only the items pushed are ever written,
/// read or dropped: an empty list costs its length field, not `N` default values.
pub(crate) enum SmallList<T, const N: usize> {
    /// `items[..len]` are initialised; the rest are not.
    Inline {
        items: [MaybeUninit<T>; N],
        len: usize,
    },
    Heap(Vec<T>),
}

impl<T, const N: usize> Default for SmallList<T, N> {
    fn default() -> SmallList<T, N> {
        SmallList::Inline {
            items: [const { MaybeUninit::uninit() }; N],
            len: 0,
        }
    }
}

impl<T, const N: usize> SmallList<T, N> {
    /// An empty list with room for `capacity` items (on the heap if that is more than `N`).
    pub(crate) fn with_capacity(capacity: usize) -> SmallList<T, N> {
        if capacity > N {
            SmallList::Heap(Vec::with_capacity(capacity))
        } else {
            SmallList::default()
        }
    }

    pub(crate) fn push(&mut self, item: T) {
        match self {
            SmallList::Inline { items, len } if *len < N => {
                items[*len].write(item);
                *len += 1;
            }
            SmallList::Inline { .. } => {
                let mut heap = Vec::with_capacity(2 * N.max(1));
                heap.extend(self.drain_inline());
                heap.push(item);
                *self = SmallList::Heap(heap);
            }
            SmallList::Heap(heap) => heap.push(item),
        }
    }

    pub(crate) fn pop(&mut self) -> Option<T> {
        match self {
            SmallList::Inline { len: 0, .. } => None,
            SmallList::Inline { items, len } => {
                *len -= 1;
                // SAFETY: `items[..len]` were initialised (the invariant); the length is
                // lowered first, so the item read out is never read or dropped again.
                Some(unsafe { items[*len].assume_init_read() })
            }
            SmallList::Heap(heap) => heap.pop(),
        }
    }

    pub(crate) fn clear(&mut self) {
        match self {
            SmallList::Inline { .. } => self.drain_inline().for_each(drop),
            SmallList::Heap(heap) => heap.clear(),
        }
    }

    pub(crate) fn as_slice(&self) -> &[T] {
        match self {
            SmallList::Inline { items, len } => {
                // SAFETY: `items[..len]` are initialised, and `MaybeUninit<T>` has `T`'s
                // layout, so they are `len` consecutive `T`s.
                unsafe { std::slice::from_raw_parts(items.as_ptr().cast::<T>(), *len) }
            }
            SmallList::Heap(heap) => heap,
        }
    }

    /// Takes the inline items out in order, leaving the list empty (a heap list is left as
    /// it is, and yields nothing).
    fn drain_inline(&mut self) -> impl Iterator<Item = T> + '_ {
        let (items, count) = match self {
            SmallList::Inline { items, len } => (&mut items[..], std::mem::take(len)),
            SmallList::Heap(_) => (&mut [][..], 0),
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
        if let SmallList::Inline { items, len } = self {
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
    use super::SmallList;

    #[test]
    fn items_stay_in_order_across_the_move_to_the_heap() {
        let mut list = SmallList::<String, 2>::default();
        for word in ["a", "b", "c"] {
            list.push(word.to_owned());
        }
        assert!(matches!(list, SmallList::Heap(_)));
        assert_eq!(list.as_slice(), ["a", "b", "c"]);
        assert_eq!(list.pop().as_deref(), Some("c"));
        list.clear();
        assert!(list.as_slice().is_empty());

        let mut inline = SmallList::<u8, 2>::with_capacity(2);
        inline.push(1);
        assert_eq!(inline.pop(), Some(1));
        assert_eq!(inline.pop(), None);
        assert!(matches!(inline, SmallList::Inline { .. }));
        assert!(matches!(
            SmallList::<u8, 2>::with_capacity(3),
            SmallList::Heap(_)
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
