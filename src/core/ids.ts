/**
 * Time-sortable ids (ULID: 48-bit millisecond time + 80 random bits, Crockford base32).
 * Ids made in one process are strictly increasing, even within one millisecond.
 */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

let lastTime = -1;
const lastRandom = new Uint8Array(10);

function encodeTime(time: number): string {
  let out = "";
  let t = time;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  // 80 bits → 16 base32 characters, 5 bits at a time.
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}

function increment(bytes: Uint8Array): void {
  for (let i = bytes.length - 1; i >= 0; i--) {
    const v = bytes[i] as number;
    if (v < 255) {
      bytes[i] = v + 1;
      return;
    }
    bytes[i] = 0;
  }
}

/**
 * A new 26-character time-sortable id.
 * @example
 * ```ts
 * const id = newId(); // "01JD3Y8Q3V2J7X0K4M5N6P7Q8R"
 * ```
 */
export function newId(now: number = Date.now()): string {
  if (now <= lastTime) {
    increment(lastRandom);
  } else {
    lastTime = now;
    // Web Crypto: the same call on Node and in a browser (the HTTP client makes ids too).
    globalThis.crypto.getRandomValues(lastRandom);
    // Leave room to increment within the same millisecond.
    lastRandom[0] = (lastRandom[0] as number) & 0x7f;
  }
  return encodeTime(lastTime) + encodeRandom(lastRandom);
}
