/**
 * The Porter (1980) stemmer, as in Martin Porter's reference implementation (with its
 * departures BLI→BLE and LOGI→LOG). Only lowercase ASCII words of three or more letters are
 * stemmed; anything else (numbers, non-ASCII words, short words) comes back unchanged.
 * A leaf module: it imports nothing.
 */

const isConsonant = (w: string, i: number): boolean => {
  const c = w[i] as string;
  if (c === "a" || c === "e" || c === "i" || c === "o" || c === "u") return false;
  if (c === "y") return i === 0 ? true : !isConsonant(w, i - 1);
  return true;
};

/** m() of `w[0..len)`: the number of vowel–consonant sequences. */
function measure(w: string, len: number): number {
  let n = 0;
  let i = 0;
  while (i < len && isConsonant(w, i)) i++;
  while (i < len) {
    while (i < len && !isConsonant(w, i)) i++;
    if (i >= len) break;
    n++;
    while (i < len && isConsonant(w, i)) i++;
  }
  return n;
}

function hasVowel(w: string, len: number): boolean {
  for (let i = 0; i < len; i++) if (!isConsonant(w, i)) return true;
  return false;
}

const doubleConsonant = (w: string, len: number): boolean => len >= 2 && w[len - 1] === w[len - 2] && isConsonant(w, len - 1);

/** *o: the stem ends consonant–vowel–consonant, the last consonant not w, x or y. */
const cvc = (w: string, len: number): boolean =>
  len >= 3 && isConsonant(w, len - 3) && !isConsonant(w, len - 2) && isConsonant(w, len - 1) && !"wxy".includes(w[len - 1] as string);

const STEP2: readonly (readonly [string, string])[] = [
  ["ational", "ate"], ["tional", "tion"], ["enci", "ence"], ["anci", "ance"], ["izer", "ize"], ["bli", "ble"],
  ["alli", "al"], ["entli", "ent"], ["eli", "e"], ["ousli", "ous"], ["ization", "ize"], ["ation", "ate"],
  ["ator", "ate"], ["alism", "al"], ["iveness", "ive"], ["fulness", "ful"], ["ousness", "ous"], ["aliti", "al"],
  ["iviti", "ive"], ["biliti", "ble"], ["logi", "log"],
];
const STEP3: readonly (readonly [string, string])[] = [
  ["icate", "ic"], ["ative", ""], ["alize", "al"], ["iciti", "ic"], ["ical", "ic"], ["ful", ""], ["ness", ""],
];
const STEP4: readonly string[] = [
  "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "ou", "ism", "ate", "iti", "ous", "ive", "ize",
];

/** The longest suffix rule of `rules` that `w` ends with. */
function longestRule(w: string, rules: readonly (readonly [string, string])[]): readonly [string, string] | undefined {
  let best: readonly [string, string] | undefined;
  for (const r of rules) if (w.endsWith(r[0]) && (best === undefined || r[0].length > best[0].length)) best = r;
  return best;
}

const ASCII_WORD = /^[a-z]+$/;

/**
 * The Porter stem of `word` (lowercase ASCII words of 3+ letters; others unchanged).
 * @example
 * ```ts
 * porterStem("connections"); // "connect"
 * ```
 */
export function porterStem(word: string): string {
  if (word.length < 3 || !ASCII_WORD.test(word)) return word;
  let w = word;
  // Step 1a
  if (w.endsWith("sses")) w = w.slice(0, -2);
  else if (w.endsWith("ies")) w = w.slice(0, -2);
  else if (!w.endsWith("ss") && w.endsWith("s")) w = w.slice(0, -1);
  // Step 1b
  let fix = false;
  if (w.endsWith("eed")) {
    if (measure(w, w.length - 3) > 0) w = w.slice(0, -1);
  } else if (w.endsWith("ed") && hasVowel(w, w.length - 2)) {
    w = w.slice(0, -2);
    fix = true;
  } else if (w.endsWith("ing") && hasVowel(w, w.length - 3)) {
    w = w.slice(0, -3);
    fix = true;
  }
  if (fix) {
    if (w.endsWith("at") || w.endsWith("bl") || w.endsWith("iz")) w += "e";
    else if (doubleConsonant(w, w.length) && !"lsz".includes(w[w.length - 1] as string)) w = w.slice(0, -1);
    else if (measure(w, w.length) === 1 && cvc(w, w.length)) w += "e";
  }
  // Step 1c
  if (w.endsWith("y") && hasVowel(w, w.length - 1)) w = `${w.slice(0, -1)}i`;
  // Steps 2 and 3
  for (const rules of [STEP2, STEP3]) {
    const r = longestRule(w, rules);
    if (r !== undefined && measure(w, w.length - r[0].length) > 0) w = w.slice(0, -r[0].length) + r[1];
  }
  // Step 4
  let s4: string | undefined;
  for (const s of STEP4) if (w.endsWith(s) && (s4 === undefined || s.length > s4.length)) s4 = s;
  if (s4 !== undefined) {
    const len = w.length - s4.length;
    if (measure(w, len) > 1 && (s4 !== "ion" || (len > 0 && "st".includes(w[len - 1] as string)))) w = w.slice(0, len);
  }
  // Step 5a
  if (w.endsWith("e")) {
    const m = measure(w, w.length - 1);
    if (m > 1 || (m === 1 && !cvc(w, w.length - 1))) w = w.slice(0, -1);
  }
  // Step 5b
  if (w.endsWith("ll") && measure(w, w.length) > 1) w = w.slice(0, -1);
  return w;
}
