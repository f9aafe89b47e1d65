//! A list that keeps its first `N` items inline and moves to the heap only past them: for the
//! few items a request usually has (path captures, header spans), so that the common request
//! allocates nothing for them.

/// Up to `N` items inline, any number on the heap.
#[derive(Debug, Clone)]
pub(crate) enum SmallList<T, const N: usize> {
    Inline { items: [T; N], len: usize },
    Heap(Vec<T>),
}

impl<T: Default, const N: usize> Default for SmallList<T, N> {
    fn default() -> SmallList<T, N> {
        SmallList::Inline {
            items: std::array::from_fn(|_| T::default()),
            len: 0,
        }
    }
}

impl<T: Default, const N: usize> SmallList<T, N> {
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
                items[*len] = item;
                *len += 1;
            }
            SmallList::Inline { items, .. } => {
                let mut heap = Vec::with_capacity(2 * N.max(1));
                heap.extend(items.iter_mut().map(std::mem::take));
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
                Some(std::mem::take(&mut items[*len]))
            }
            SmallList::Heap(heap) => heap.pop(),
        }
    }

    pub(crate) fn clear(&mut self) {
        while self.pop().is_some() {}
    }
}

impl<T, const N: usize> SmallList<T, N> {
    pub(crate) fn as_slice(&self) -> &[T] {
        match self {
            SmallList::Inline { items, len } => &items[..*len],
            SmallList::Heap(heap) => heap,
        }
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
}
