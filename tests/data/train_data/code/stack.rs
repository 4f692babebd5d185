/// A last-in, first-out stack over a Vec.
pub struct Stack<T> {
    items: Vec<T>,
}

impl<T> Stack<T> {
    pub fn new() -> Self { Stack { items: Vec::new() } }
    pub fn push(&mut self, x: T) { self.items.push(x); }
    pub fn pop(&mut self) -> Option<T> { self.items.pop() }
    pub fn len(&self) -> usize { self.items.len() }
}
