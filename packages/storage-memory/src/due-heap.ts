/**
 * An indexed binary min-heap of due times: the index behind `dueJobs` and `nextDueAt`.
 *
 * @module
 */

import { compareIds } from './compare-ids.js';

/** What the heap holds: an id, a due time, and the item's position (kept up to date by the heap). */
export interface DueItem {
  readonly id: string;
  /** The due time; call {@link DueHeap.update} after changing it. */
  dueAt: number;
  /** The item's position in the heap, or -1 when it is not in it. */
  heapIndex: number;
}

function before(a: DueItem, b: DueItem): boolean {
  return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && compareIds(a.id, b.id) < 0);
}

/**
 * A min-heap ordered by `(dueAt, id)` whose items know their position, so an item can be moved or
 * removed in O(log n) when its due time changes. It never holds stale entries, which keeps reading
 * the first k items in order (without removing them) at O(k log k).
 */
export class DueHeap<T extends DueItem> {
  #items: T[] = [];

  /** How many items. */
  get size(): number {
    return this.#items.length;
  }

  /** The earliest item, or `undefined`. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Inserts an item, or moves it after its `dueAt` changed. O(log n). */
  update(item: T): void {
    if (item.heapIndex < 0) {
      item.heapIndex = this.#items.length;
      this.#items.push(item);
    }
    this.#siftDown(this.#siftUp(item.heapIndex));
  }

  /** Removes an item if it is in the heap. O(log n). */
  remove(item: T): void {
    const index = item.heapIndex;
    if (index < 0) return;
    item.heapIndex = -1;
    const last = this.#items.pop() as T;
    if (last === item) return;
    this.#items[index] = last;
    last.heapIndex = index;
    this.#siftDown(this.#siftUp(index));
  }

  /**
   * Yields the items in ascending order without changing the heap: a walk down the tree driven
   * by a small heap of frontier positions, so taking the first k costs O(k log k) whatever the
   * heap's size. Do not change the heap while iterating.
   */
  *ascending(): Generator<T, void, undefined> {
    const items = this.#items;
    if (items.length === 0) return;
    const frontier: number[] = [0];
    const less = (i: number, j: number): boolean =>
      before(items[frontier[i] as number] as T, items[frontier[j] as number] as T);
    const swap = (i: number, j: number): void => {
      const held = frontier[i] as number;
      frontier[i] = frontier[j] as number;
      frontier[j] = held;
    };
    while (frontier.length > 0) {
      const position = frontier[0] as number;
      const last = frontier.pop() as number;
      if (frontier.length > 0) {
        frontier[0] = last;
        let index = 0;
        for (;;) {
          const left = 2 * index + 1;
          if (left >= frontier.length) break;
          const child = left + 1 < frontier.length && less(left + 1, left) ? left + 1 : left;
          if (!less(child, index)) break;
          swap(child, index);
          index = child;
        }
      }
      yield items[position] as T;
      // The item's children are the only new candidates for the next smallest one.
      for (let child = 2 * position + 1; child <= 2 * position + 2; child++) {
        if (child >= items.length) break;
        frontier.push(child);
        let index = frontier.length - 1;
        while (index > 0) {
          const parent = (index - 1) >> 1;
          if (!less(index, parent)) break;
          swap(index, parent);
          index = parent;
        }
      }
    }
  }

  /** Removes every item. */
  clear(): void {
    for (const item of this.#items) item.heapIndex = -1;
    this.#items = [];
  }

  #siftUp(start: number): number {
    const items = this.#items;
    const item = items[start] as T;
    let index = start;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const parentItem = items[parent] as T;
      if (!before(item, parentItem)) break;
      items[index] = parentItem;
      parentItem.heapIndex = index;
      index = parent;
    }
    items[index] = item;
    item.heapIndex = index;
    return index;
  }

  #siftDown(start: number): void {
    const items = this.#items;
    const length = items.length;
    const item = items[start] as T;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && before(items[right] as T, items[left] as T)) child = right;
      const childItem = items[child] as T;
      if (!before(childItem, item)) break;
      items[index] = childItem;
      childItem.heapIndex = index;
      index = child;
    }
    items[index] = item;
    item.heapIndex = index;
  }
}
