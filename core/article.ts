// "an Instance", "a Volume", "an update": messages name kinds and operations through one helper, so
// none reads "a Instance".

/** The word with the indefinite article English puts before it, chosen by its sound. */
export function withArticle(word: string): string {
  return `${startsWithVowelSound(word) ? "an" : "a"} ${word}`;
}

function startsWithVowelSound(word: string): boolean {
  // "a unique", "a user", "a one-off": a written vowel that sounds like a consonant.
  if (/^(uni|use|usa|usu|uti|eu|ewe|one)/i.test(word)) return false;
  // "an hour", "an honest": a silent h.
  if (/^(hour|honest|honou?r|heir)/i.test(word)) return true;
  return /^[aeiou]/i.test(word);
}
