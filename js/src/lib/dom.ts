// Small DOM helpers shared by the views. Text always goes in through textContent, never as HTML.

/** A number with thousands separators, as every view prints counts and steps. */
export const fmt = (n: number): string => n.toLocaleString("en-US");

/** A new element with a class and, optionally, text (set as textContent: never parsed). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The message of anything thrown. */
export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
