/**
 * Texts people read in the editor, as data: what a node shows under itself
 * (its status) is a colour, a shape and a text given as a key of the node's
 * message catalog (locales/<lang>/<node>.json) with its parameters. Every
 * core returns its status this way; nodes/lib/status.ts renders it with
 * RED._ in the language Node-RED runs in (settings.js `lang`, else the
 * server's locale), so a Status node or a dashboard wired to the node gets
 * words, never keys.
 *
 * Each module declares its texts once in a table (key → names of its
 * parameters): the compiler checks every use against the table, and
 * test/unit/locales.test.ts checks the table against both catalogs.
 *
 * Message texts (msg.summary, notes, errors in results) are not these: they
 * travel as data and stay English (core/format.ts).
 */

export type StatusFill = "red" | "green" | "yellow" | "blue" | "grey";
export type StatusShape = "dot" | "ring";

/** A parameter: a number or a text shown as it is, or another text of the catalog. */
export type TextParam = string | number | Text;

/**
 * A text: `key` is below the node's name in its catalog ("status.armed"), or
 * names another catalog ("node-red:common.status.connecting"); `more` are
 * further facts, each shown after " · ".
 */
export interface Text {
  key: string;
  params?: Readonly<Record<string, TextParam>>;
  more?: readonly Text[];
}

export interface StatusView extends Text {
  fill: StatusFill;
  shape: StatusShape;
}

/** Keys a module may use, each with the names of its parameters. */
export type TextTable = Readonly<Record<string, readonly string[]>>;

type ParamsOf<T extends TextTable, K extends keyof T> = { readonly [P in T[K][number]]: TextParam };

/** A text of `T`: its parameters are required exactly when the key has some. */
export interface Say<T extends TextTable> {
  <K extends keyof T & string>(key: K, ...params: T[K] extends readonly [] ? [] : [ParamsOf<T, K>]): Text;
  readonly table: T;
}

/** Declares the texts of a module; returns the function that builds them. */
export function textTable<const T extends TextTable>(table: T): Say<T> {
  const say = <K extends keyof T & string>(key: K, ...params: T[K] extends readonly [] ? [] : [ParamsOf<T, K>]): Text =>
    params.length ? { key, params: params[0] as Readonly<Record<string, TextParam>> } : { key };
  return Object.assign(say, { table });
}

/** `text` followed by further facts (after " · "). */
export function withMore(text: Text, ...more: Array<Text | null>): Text {
  const extra = more.filter((m): m is Text => m !== null);
  return extra.length ? { ...text, more: [...(text.more ?? []), ...extra] } : text;
}

export function statusOf(fill: StatusFill, shape: StatusShape, text: Text): StatusView {
  return { fill, shape, ...text };
}
