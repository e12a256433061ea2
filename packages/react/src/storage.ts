/** Where the hooks keep the session and the runs still streaming: `localStorage` has this shape. */
export interface HearthStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Storage that lasts as long as the page: for tests, or where nothing may be persisted. */
export function memoryStorage(): HearthStorage {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

/** `localStorage` where there is one that works (not in SSR, not when blocked), else memory. */
export function defaultStorage(): HearthStorage {
  try {
    // Read off globalThis so the package needs no DOM typings (and works where there is none).
    const storage = (globalThis as { localStorage?: HearthStorage }).localStorage;
    if (!storage) return memoryStorage();
    const probe = '__hearth_probe__';
    storage.setItem(probe, probe);
    storage.removeItem(probe);
    return storage;
  } catch {
    return memoryStorage();
  }
}

export function readJson<T>(storage: HearthStorage, key: string): T | null {
  try {
    const text = storage.getItem(key);
    return text === null ? null : (JSON.parse(text) as T);
  } catch {
    // A value another version or another app wrote: as good as none.
    return null;
  }
}

export function writeJson(storage: HearthStorage, key: string, value: unknown): void {
  try {
    storage.setItem(key, JSON.stringify(value));
  } catch {
    // A full or blocked storage costs only what it would have restored.
  }
}
