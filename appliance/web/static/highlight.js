// The searched words, marked on the call page a search result opens. The search page keeps the
// query for the call clicked (the link itself stays /calls/ID#t=SECONDS); the call page marks
// the words of its transcript that match it, a word* as a prefix.
(function () {
  "use strict";
  const KEY = "appliance-search";
  const hits = document.querySelector("ol.hits[data-query]");
  if (hits) {
    hits.addEventListener("click", function (event) {
      const link = event.target.closest("a[data-call]");
      if (link) sessionStorage.setItem(KEY, JSON.stringify({ call: link.dataset.call, query: hits.dataset.query }));
    });
    return;
  }
  const article = document.querySelector("article.call[data-call]");
  let saved = null;
  try { saved = JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (error) { saved = null; }
  if (!article || !saved || saved.call !== article.dataset.call) return;
  // As the search index reads words: lower case, without accents; operators are no words.
  const fold = function (text) { return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); };
  const terms = (saved.query.match(/[\p{L}\p{N}]+\*?/gu) || [])
    .filter(function (term) { return !["AND", "OR", "NOT"].includes(term); })
    .map(function (term) { return { word: fold(term.replace(/\*$/, "")), prefix: term.endsWith("*") }; });
  let first = null;
  document.querySelectorAll("#transcript .w").forEach(function (span) {
    const word = fold(span.textContent).replace(/[^\p{L}\p{N}]/gu, "");
    if (terms.some(function (t) { return t.prefix ? word.startsWith(t.word) : word === t.word; })) {
      span.classList.add("hit");
      first = first || span;
    }
  });
  if (first && !location.hash) first.scrollIntoView({ block: "center" });
})();
