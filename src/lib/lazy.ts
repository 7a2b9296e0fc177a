/**
 * Heavy packages (spreadsheets, PDF, fonts, QR codes, mail, the queue dashboard) are loaded
 * by the process that uses them, when it first does: a web process that never exports a
 * spreadsheet never holds exceljs's 150 modules. `lazy(() => require('x'))` keeps the call
 * sites synchronous; the types come from `import type`.
 */
export function lazy<T>(load: () => T): () => T {
  let value: T | undefined;
  let loaded = false;
  return () => {
    if (!loaded) {
      value = load();
      loaded = true;
    }
    return value as T;
  };
}

/**
 * Like `lazy`, for large values used now and then (a parsed font, password dictionaries): built
 * on first use, and let go once unused for `idleMs`, so a process that has done the rare thing
 * goes back to its idle size; the next use builds it again.
 */
export function lazyWhileUsed<T>(build: () => T, idleMs: number): () => T {
  let value: T | null = null;
  let timer: NodeJS.Timeout | null = null;
  return () => {
    if (value === null) value = build();
    if (timer) timer.refresh();
    else {
      timer = setTimeout(() => {
        value = null;
        timer = null;
      }, idleMs);
      timer.unref();
    }
    return value;
  };
}
