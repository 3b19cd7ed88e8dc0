/**
 * The one escaping function of the explorer and the template tag built on it.
 * Every value a page shows (hashes, addresses, peer hostnames, script bytes
 * decoded as text, error messages) goes through `html`, which escapes it
 * unless it is markup this module produced; so a hostile output script, a
 * coinbase message or a peer's advertised address is shown as text, never
 * parsed as markup, in element content and in quoted attributes alike.
 */

/** Markup built by `html` (and only by it): inserted as is, everything else is escaped. */
export class Html {
  private constructor(readonly text: string) {}

  /** Only this module creates Html, so a string from outside cannot pass for markup. */
  static fromTemplate(text: string): Html {
    return new Html(text);
  }

  toString(): string {
    return this.text;
  }
}

/** What a template may interpolate: markup, text and numbers (escaped), lists of them, or nothing. */
export type Content = Html | string | number | bigint | boolean | null | undefined | readonly Content[];

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Text safe in element content and in single- or double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c] as string);
}

function render(value: Content): string {
  if (value instanceof Html) return value.text;
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** Template tag: the literal parts are the page's own markup; every interpolated value is escaped. */
export function html(strings: TemplateStringsArray, ...values: readonly Content[]): Html {
  let text = strings[0] as string;
  for (let i = 0; i < values.length; i++) text += render(values[i] as Content) + (strings[i + 1] as string);
  return Html.fromTemplate(text);
}
