import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeHtml, html, Html } from '../../src/api/explorer/index.js';
import {
  formatAge,
  formatCoins,
  formatDelay,
  formatDifficulty,
  formatFeeRate,
  nullData,
  printable,
} from '../../src/api/explorer/format.js';
import { getNetwork, OP_RETURN, pushData } from '../../src/core/index.js';

const unescape = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#96;/g, '`')
    .replace(/&amp;/g, '&');

describe('escapeHtml', () => {
  it('escapes every character that can open markup or close an attribute', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y' \`z\``)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; &#96;z&#96;',
    );
  });

  it('leaves no markup character in any string and loses nothing', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom('<', '>', '&', '"', "'", '`', 'a', '&amp;', '&lt;', 'é', '\u202e'),
        }),
        (s) => {
          const escaped = escapeHtml(s);
          return !/[<>"'`]/.test(escaped) && unescape(escaped) === s;
        },
      ),
    );
  });
});

describe('the html template tag', () => {
  it('escapes interpolated text in content and attributes, keeps its own markup', () => {
    const hostile = '"><script>alert(1)</script>';
    const out = html`<a href="/x/${hostile}">${hostile}</a>`.text;
    expect(out).toBe(
      '<a href="/x/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</a>',
    );
  });

  it('nests markup built by the tag and escapes lists item by item', () => {
    const items = ['<b>', 'ok'].map((s) => html`<li>${s}</li>`);
    expect(html`<ul>${items}</ul>`.text).toBe('<ul><li>&lt;b&gt;</li><li>ok</li></ul>');
  });

  it('renders numbers and bigints as text and nothing for null, undefined and false', () => {
    expect(html`${1}|${2n}|${null}|${undefined}|${false}`.text).toBe('1|2|||');
  });

  it('a string that looks like Html is still escaped (only the tag makes markup)', () => {
    const fake = { text: '<script>x</script>', toString: () => '<script>x</script>' } as unknown as string;
    expect(html`${fake}`.text).toBe('&lt;script&gt;x&lt;/script&gt;');
    expect(Html.fromTemplate('<i>').text).toBe('<i>');
  });
});

describe('explorer formatting', () => {
  it('shows coins with exact decimals, never through a float', () => {
    expect(formatCoins(0n)).toBe('0 CMC');
    expect(formatCoins(1n)).toBe('0.00000001 CMC');
    expect(formatCoins(1_250_000_000n)).toBe('12.5 CMC');
    expect(formatCoins(2_100_000_000_000_001n)).toBe('21000000.00000001 CMC');
    expect(formatCoins(-150_000_000n)).toBe('-1.5 CMC');
  });

  it('fee rates and difficulty from integers', () => {
    expect(formatFeeRate(1000n, 3)).toBe('333.33 units/B');
    const regtest = getNetwork('regtest');
    expect(formatDifficulty(regtest.powLimitBits, regtest.powLimitBits)).toBe('1.000');
    // Half the target: twice the difficulty.
    expect(formatDifficulty(0x1f7fffff, 0x207fffff)).toBe('256.000');
  });

  it('ages and signed delays', () => {
    expect(formatAge(100, 100_400)).toBe('just now');
    expect(formatAge(100, 112_000)).toBe('12.0 s ago');
    expect(formatAge(100, 40_000)).toBe('in 1 min');
    expect(formatDelay(1200)).toBe('+1.2 s');
    expect(formatDelay(-300)).toBe('-300 ms');
  });

  it('shows script bytes as printable ASCII only and reads OP_RETURN data', () => {
    expect(printable(new Uint8Array([0x41, 0x00, 0x7f, 0xe2, 0x80, 0xae, 0x3c]))).toBe('A.....<');
    const script = Uint8Array.of(OP_RETURN, ...pushData(new TextEncoder().encode('hi')));
    expect(new TextDecoder().decode(nullData(script))).toBe('hi');
    expect(nullData(Uint8Array.of(0x76, 0xa9))).toBeUndefined();
  });
});
