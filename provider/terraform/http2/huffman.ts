// HPACK's Huffman code (RFC 7541 section 5.2, Appendix B), decoding only: Terraform's HTTP/2 client
// sends a header value Huffman-coded when that is shorter, and we answer with raw strings. The code
// is canonical (codes of one length are consecutive, in symbol order), so each symbol's code length is
// all it takes to rebuild it; test/terraform/http2.test.ts checks it against nghttp2's encoder.

/** Code length in bits of symbols 0-255 and EOS (256), Appendix B's "len" column. */
// prettier-ignore
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];
const EOS = 256;
const MAX_LENGTH = 30;

/** The canonical code, per length: the first code, how many codes, where its symbols start in SYMBOLS. */
const FIRST_CODE = new Array<number>(MAX_LENGTH + 1).fill(0);
const COUNT = new Array<number>(MAX_LENGTH + 1).fill(0);
const OFFSET = new Array<number>(MAX_LENGTH + 1).fill(0);
const SYMBOLS = LENGTHS.map((_, symbol) => symbol).sort((a, b) => LENGTHS[a]! - LENGTHS[b]! || a - b);
{
  for (const length of LENGTHS) COUNT[length]!++;
  let code = 0;
  let offset = 0;
  for (let length = 1; length <= MAX_LENGTH; length++) {
    FIRST_CODE[length] = code;
    OFFSET[length] = offset;
    code = (code + COUNT[length]!) * 2;
    offset += COUNT[length]!;
  }
}

export class HuffmanError extends Error {}

/** The bytes a Huffman-coded string stands for; padding must be at most 7 bits of EOS's leading 1s. */
export function huffmanDecode(input: Uint8Array): Buffer {
  const out: number[] = [];
  let code = 0;
  let length = 0;
  for (const byte of input) {
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      length++;
      const index = code - FIRST_CODE[length]!;
      if (index < COUNT[length]!) {
        const symbol = SYMBOLS[OFFSET[length]! + index]!;
        if (symbol === EOS) throw new HuffmanError("a Huffman-coded string holds EOS");
        out.push(symbol);
        code = 0;
        length = 0;
      } else if (length === MAX_LENGTH) throw new HuffmanError("a Huffman code longer than any of the table's");
    }
  }
  // What is left must be padding: fewer than 8 bits, all ones (the most significant bits of EOS).
  if (length > 7 || code !== 2 ** length - 1) throw new HuffmanError("a Huffman-coded string ends in a partial symbol");
  return Buffer.from(out);
}
