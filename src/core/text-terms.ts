/**
 * The terms that long-term memory search ranks by (BM25): the words of `core/words.ts`
 * (NFC, lowercase, runs of Unicode letters and digits), minus English stop words, each
 * Porter-stemmed. One definition for indexing and queries, on every store. A leaf module:
 * it imports only other leaves.
 *
 * Why these choices (measured on LoCoMo, docs/memory.md): stop words +0.03 recall@1, Porter
 * stemming +0.02 (an s-stemmer gains less), against plain words.
 */
import { porterStem } from "./porter.js";
import { wordsOf } from "./words.js";

/**
 * NLTK's English stop list without its apostrophe forms ("don't" is split into "don" and "t"
 * by the word rule, and both are here): 153 words.
 */
const STOP_WORDS = new Set(
  (
    "i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself " +
    "it its itself they them their theirs themselves what which who whom this that these those am is are was were be been being " +
    "have has had having do does did doing a an the and but if or because as until while of at by for with about against " +
    "between into through during before after above below to from up down in out on off over under again further then once " +
    "here there when where why how all any both each few more most other some such no nor not only own same so than too very " +
    "s t can will just don should now d ll m o re ve y ain aren couldn didn doesn hadn hasn haven isn ma mightn mustn needn " +
    "shan shouldn wasn weren won wouldn"
  ).split(" "),
);

/** Longer words are not terms (an identifier or a blob, not prose). */
export const MAX_TERM_LENGTH = 100;

// Stemming is the cost of analysis; conversation text repeats its words.
const stems = new Map<string, string>();
const STEM_CACHE_SIZE = 50_000;

function stem(word: string): string {
  let s = stems.get(word);
  if (s === undefined) {
    s = porterStem(word);
    if (stems.size >= STEM_CACHE_SIZE) stems.clear();
    stems.set(word, s);
  }
  return s;
}

/**
 * The terms of `text`, in order, repeats included.
 * @example
 * ```ts
 * textTerms("Caroline went to the LGBTQ support groups"); // ["carolin", "went", "lgbtq", "support", "group"]
 * ```
 */
export function textTerms(text: string): string[] {
  const out: string[] = [];
  for (const w of wordsOf(text)) {
    if (w.length > MAX_TERM_LENGTH || STOP_WORDS.has(w)) continue;
    out.push(stem(w));
  }
  return out;
}
