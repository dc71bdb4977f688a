/* Storefront search page: instant search over the storefront search API (no framework, no build step).
   The API base comes from <meta name="storefront-api"> (empty: this page's origin). The state lives in
   the URL: q, category, brand, price_min, price_max, rating_min, in_stock, sort, product. */
(() => {
  "use strict";
  const API = (document.querySelector('meta[name="storefront-api"]').content || "").replace(/\/$/, "");
  const SEARCH_DEBOUNCE_MS = 100;
  const SUGGEST_DEBOUNCE_MS = 60;
  const SPINNER_DELAY_MS = 300;
  const PAGE_SIZE = 20;
  const MAX_RETRIES = 2;
  const MAX_RETRY_WAIT_S = 10;
  const LOCALE = document.documentElement.lang || "en";
  const FILTERS = ["price_min", "price_max", "rating_min", "in_stock"];
  const $ = (id) => document.getElementById(id);
  const ui = {
    form: $("search-form"), q: $("q"), suggestions: $("suggestions"), facets: $("facets"), count: $("count"),
    spinner: $("spinner"), sort: $("sort"), chips: $("chips"), message: $("message"), results: $("results"),
    more: $("more"), detail: $("detail"), detailBody: $("detail-body"), detailClose: $("detail-close"),
    region: $("served-region"),
  };

  let state = readUrl(location.search);
  let nextCursor = null;
  let searchSeq = 0;
  let searchAbort = null;
  let suggestSeq = 0;
  let suggestAbort = null;
  let typing = false;  // the current history entry was pushed for this typing session
  let activeOption = -1;

  // ------------------------------------------------------------------ helpers
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }
  const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&#39;": "'" };
  const decode = (s) => s.replace(/&(?:amp|lt|gt|quot|#x27|#39);/g, (m) => ENTITIES[m]);
  /* The API marks matches with <em>…</em> in HTML-escaped text: rebuilt as nodes, never as markup. */
  function highlighted(markup, plain) {
    const frag = document.createDocumentFragment();
    if (!markup) { frag.append(plain || ""); return frag; }
    let inMatch = false;
    for (const part of markup.split(/(<em>|<\/em>)/)) {
      if (part === "<em>") inMatch = true;
      else if (part === "</em>") inMatch = false;
      else if (part) frag.append(inMatch ? el("mark", { text: decode(part) }) : decode(part));
    }
    return frag;
  }
  const money = (value, currency) => {
    try { return new Intl.NumberFormat(LOCALE, { style: "currency", currency }).format(value); }
    catch (_) { return `${Number(value).toFixed(2)} ${currency}`; }
  };
  const integer = (n) => new Intl.NumberFormat(LOCALE).format(n);
  const sleep = (ms, signal) => new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    if (signal) signal.addEventListener("abort", () => { clearTimeout(t); reject(new DOMException("aborted", "AbortError")); });
  });
  function retryAfterSeconds(header) {
    if (header === null) return 1;
    const n = Number(header);
    const s = Number.isFinite(n) ? n : (Date.parse(header) - Date.now()) / 1000;
    return Math.min(MAX_RETRY_WAIT_S, Math.max(0, Number.isFinite(s) ? s : 1));
  }

  // ------------------------------------------------------------------ URL state
  function readUrl(search) {
    const p = new URLSearchParams(search);
    const s = { q: p.get("q") || "", category: p.getAll("category"), brand: p.getAll("brand"),
                sort: p.get("sort") || "relevance", product: p.get("product") };
    for (const k of FILTERS) s[k] = p.get(k);
    return s;
  }
  function toParams(s, forApi) {
    const p = new URLSearchParams();
    if (s.q) p.set("q", s.q);
    for (const c of s.category) p.append("category", c);
    for (const b of s.brand) p.append("brand", b);
    for (const k of FILTERS) if (s[k] !== null && s[k] !== "") p.set(k, s[k]);
    if (s.sort && s.sort !== "relevance") p.set("sort", s.sort);
    if (!forApi && s.product) p.set("product", s.product);
    return p;
  }
  function commit(next, push) {
    state = next;
    const qs = toParams(state, false).toString();
    const url = location.pathname + (qs ? `?${qs}` : "");
    if (url !== location.pathname + location.search) history[push ? "pushState" : "replaceState"](null, "", url);
  }
  const hasFilters = (s) => s.category.length || s.brand.length || FILTERS.some((k) => s[k] !== null && s[k] !== "");

  // ------------------------------------------------------------------ the API
  class ApiError extends Error {
    constructor(status, code, message, parameter) { super(message); this.status = status; this.code = code; this.parameter = parameter; }
  }
  async function api(path, params, signal, onRetry) {
    const url = API + path + (params && params.toString() ? `?${params}` : "");
    for (let attempt = 0; ; attempt++) {
      let res;
      try { res = await fetch(url, { signal, headers: { Accept: "application/json" } }); }
      catch (e) {
        if (e.name === "AbortError") throw e;
        throw new ApiError(0, "network", "The search service could not be reached. Check your connection and try again.");
      }
      const region = res.headers.get("X-Served-Region");
      if (region) ui.region.textContent = region;
      if (res.status === 503 && attempt < MAX_RETRIES) {
        const wait = retryAfterSeconds(res.headers.get("Retry-After"));
        if (onRetry) onRetry(attempt + 1, wait);
        await sleep(wait * 1000, signal);
        continue;
      }
      let body = null;
      try { body = await res.json(); } catch (_) { body = null; }
      if (res.ok) return body;
      const err = (body && body.error) || {};
      throw new ApiError(res.status, err.code || "http", err.message || `HTTP ${res.status}`, err.parameter);
    }
  }
  function explain(e) {
    if (e.status === 400) return `This search could not be run: ${e.parameter ? `${e.parameter}: ` : ""}${e.message}`;
    if (e.status === 503) return `Search is unavailable right now (tried ${MAX_RETRIES + 1} times). Please try again in a minute.`;
    if (e.status === 404) return e.message;
    if (e.status === 0) return e.message;
    return `Something went wrong (${e.status}): ${e.message}`;
  }

  // ------------------------------------------------------------------ messages
  function showMessage(...content) { ui.message.replaceChildren(...content); ui.message.hidden = false; }
  function hideMessage() { ui.message.hidden = true; ui.message.replaceChildren(); }

  // ------------------------------------------------------------------ search
  async function search(append) {
    const seq = ++searchSeq;
    if (searchAbort) searchAbort.abort();
    const ctl = new AbortController();
    searchAbort = ctl;
    const params = toParams(state, true);
    params.set("size", String(PAGE_SIZE));
    if (append) { params.set("cursor", nextCursor); params.set("facets", ""); }
    const spinner = setTimeout(() => { ui.spinner.hidden = false; }, SPINNER_DELAY_MS);
    try {
      const body = await api("/search", params, ctl.signal, (attempt, wait) => {
        if (seq === searchSeq) showMessage(`Search is busy; retrying in ${Math.ceil(wait)} s (attempt ${attempt} of ${MAX_RETRIES})…`);
      });
      if (seq !== searchSeq) return;
      render(body, append);
    } catch (e) {
      if (e.name === "AbortError" || seq !== searchSeq) return;
      if (!append) { ui.results.replaceChildren(); ui.more.hidden = true; ui.count.textContent = ""; }
      showMessage(explain(e));
    } finally {
      clearTimeout(spinner);
      if (seq === searchSeq) ui.spinner.hidden = true;
    }
  }

  function render(body, append) {
    hideMessage();
    nextCursor = body.next_cursor;
    const cards = body.hits.map(card);
    if (append) ui.results.append(...cards); else ui.results.replaceChildren(...cards);
    const total = body.total.value;
    const plus = body.total.relation === "eq" ? "" : "+";
    ui.count.textContent = total === 0 ? "No results" : `${integer(total)}${plus} result${total === 1 ? "" : "s"}`;
    ui.more.hidden = !nextCursor || body.hits.length === 0;
    if (append) return;
    renderFacets(body.facets || {});
    renderChips();
    if (total === 0) {
      const tips = [el("p", { text: state.q ? `No products match “${state.q}”.` : "No products match." })];
      if (hasFilters(state)) {
        const clear = el("button", { type: "button", text: "Remove all filters" });
        clear.addEventListener("click", () => update(clearedFilters(state)));
        tips.push(el("p", {}, "Try removing some filters. ", clear));
      } else tips.push(el("p", { text: "Try fewer or different words." }));
      showMessage(...tips);
    }
  }

  function card(h) {
    const img = el("div", { class: "img" });
    if (h.image_url) {
      const i = el("img", { alt: "", loading: "lazy", width: 400, height: 300, src: h.image_url });
      i.addEventListener("error", () => i.remove());
      img.append(i);
    }
    const link = el("a", { href: `?${productParams(h.id)}` });
    link.append(highlighted(h.highlight && h.highlight.title, h.title));
    link.addEventListener("click", (ev) => { ev.preventDefault(); openProduct(h.id); });
    const rating = h.rating === null || h.rating === undefined ? null : el("p", {
      class: "meta", text: `★ ${h.rating.toFixed(1)} (${integer(h.review_count || 0)} reviews)`,
      "aria-label": `Rated ${h.rating.toFixed(1)} out of 5 from ${integer(h.review_count || 0)} reviews` });
    const snippet = h.highlight && h.highlight.description ? el("p", { class: "meta" }) : null;
    if (snippet) snippet.append(highlighted(h.highlight.description));
    return el("li", { class: "card", "data-id": h.id }, img, el("h2", {}, link),
      el("p", { class: "brandname", text: h.brand }),
      el("p", { class: "price", text: money(h.price, h.currency) }), rating,
      el("p", { class: h.in_stock ? "stock-in" : "stock-out", text: h.in_stock ? "In stock" : "Out of stock" }),
      snippet);
  }

  // ------------------------------------------------------------------ facets and chips
  const priceFrom = (from) => (from === null || from === 0 ? null : String(from));
  const priceTo = (to) => (to === null ? null : String(Math.round((to - 0.01) * 100) / 100));
  function priceLabel(from, to) {
    if (to === null) return `${money(from, "USD")} and up`;
    if (!from) return `Under ${money(to, "USD")}`;
    return `${money(from, "USD")} – ${money(to, "USD")}`;
  }
  function update(next) { typing = false; commit({ ...next, product: null }, true); search(false); }
  function clearedFilters(s) {
    const next = { ...s, category: [], brand: [] };
    for (const k of FILTERS) next[k] = null;
    return next;
  }
  function toggle(list, value) { return list.includes(value) ? list.filter((v) => v !== value) : [...list, value]; }

  function group(legend, key, options) {
    const fs = el("fieldset", {}, el("legend", { text: legend }));
    const ul = el("ul");
    for (const o of options) {
      const id = `f-${key}-${ul.children.length}`;
      const input = el("input", { type: o.radio ? "radio" : "checkbox", id, name: `f-${key}`, "data-key": `${key}:${o.value}`,
                                  checked: o.checked });
      input.addEventListener("change", o.onChange);
      const label = el("label", { for: id }, input, el("span", { text: o.label }),
        o.count === undefined ? null : el("span", { class: "n", text: `(${integer(o.count)})` }));
      ul.append(el("li", { class: o.child ? "child" : null }, label));
    }
    fs.append(ul);
    return fs;
  }

  function renderFacets(f) {
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : null;
    const groups = [];
    const cats = f.category || [];
    if (cats.length) groups.push(group("Category", "category", cats.map((c) => ({
      value: c.value, label: c.value.includes(" > ") ? c.value.split(" > ").pop() : c.value, count: c.count,
      child: c.value.includes(" > "), checked: state.category.includes(c.value),
      onChange: () => update({ ...state, category: toggle(state.category, c.value) }) }))));
    const brands = f.brand || [];
    if (brands.length) groups.push(group("Brand", "brand", brands.map((b) => ({
      value: b.value, label: b.value, count: b.count, checked: state.brand.includes(b.value),
      onChange: () => update({ ...state, brand: toggle(state.brand, b.value) }) }))));
    const prices = f.price || [];
    if (prices.length) groups.push(group("Price", "price", [
      { value: "any", label: "Any price", radio: true, checked: !state.price_min && !state.price_max,
        onChange: () => update({ ...state, price_min: null, price_max: null }) },
      ...prices.filter((p) => p.count > 0 || (state.price_min || null) === priceFrom(p.from)).map((p) => ({
        value: `${p.from}-${p.to}`, label: priceLabel(p.from, p.to), count: p.count, radio: true,
        checked: (state.price_min || null) === priceFrom(p.from) && (state.price_max || null) === priceTo(p.to),
        onChange: () => update({ ...state, price_min: priceFrom(p.from), price_max: priceTo(p.to) }) }))]));
    const ratings = f.rating || [];
    if (ratings.length) groups.push(group("Rating", "rating", [
      { value: "any", label: "Any rating", radio: true, checked: !state.rating_min,
        onChange: () => update({ ...state, rating_min: null }) },
      ...ratings.filter((r) => r.count > 0 || Number(state.rating_min) === r.value).map((r) => ({
        value: String(r.value), label: `${r.value} stars & up`, count: r.count, radio: true,
        checked: Number(state.rating_min) === r.value,
        onChange: () => update({ ...state, rating_min: String(r.value) }) }))]));
    groups.push(group("Availability", "stock", [{ value: "true", label: "In stock only", checked: state.in_stock === "true",
      onChange: () => update({ ...state, in_stock: state.in_stock === "true" ? null : "true" }) }]));
    ui.facets.replaceChildren(el("h2", { class: "visually-hidden", text: "Filters" }), ...groups);
    if (focused) {
      const again = ui.facets.querySelector(`[data-key="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  }

  function renderChips() {
    const chips = [];
    const chip = (text, next) => {
      const b = el("button", { type: "button", "aria-label": `Remove filter ${text}` }, `${text} ×`);
      b.addEventListener("click", () => { update(next); ui.q.focus(); });
      chips.push(el("li", {}, b));
    };
    for (const c of state.category) chip(`Category: ${c}`, { ...state, category: state.category.filter((v) => v !== c) });
    for (const b of state.brand) chip(`Brand: ${b}`, { ...state, brand: state.brand.filter((v) => v !== b) });
    if (state.price_min || state.price_max) {
      const text = state.price_max ? `${state.price_min || 0} – ${state.price_max}` : `${state.price_min} and up`;
      chip(`Price: ${text}`, { ...state, price_min: null, price_max: null });
    }
    if (state.rating_min) chip(`Rating: ${state.rating_min}+`, { ...state, rating_min: null });
    if (state.in_stock) chip(state.in_stock === "true" ? "In stock" : "Out of stock", { ...state, in_stock: null });
    if (chips.length > 1) {
      const all = el("button", { type: "button", text: "Clear all" });
      all.addEventListener("click", () => { update(clearedFilters(state)); ui.q.focus(); });
      chips.push(el("li", {}, all));
    }
    ui.chips.replaceChildren(...chips);
  }

  // ------------------------------------------------------------------ suggestions (ARIA combobox)
  function closeSuggestions() {
    if (suggestAbort) { suggestAbort.abort(); suggestAbort = null; }
    ui.suggestions.hidden = true;
    ui.suggestions.replaceChildren();
    delete ui.suggestions.dataset.prefix;
    ui.q.setAttribute("aria-expanded", "false");
    setActive(-1);
  }
  /* The one place the active option changes: activeOption, aria-selected and aria-activedescendant agree. */
  function setActive(index) {
    const options = ui.suggestions.children;
    activeOption = index >= 0 && index < options.length ? index : -1;
    [...options].forEach((o, i) => o.setAttribute("aria-selected", String(i === activeOption)));
    if (activeOption >= 0) ui.q.setAttribute("aria-activedescendant", options[activeOption].id);
    else ui.q.removeAttribute("aria-activedescendant");
  }
  async function suggest(prefix) {
    const seq = ++suggestSeq;
    if (suggestAbort) suggestAbort.abort();  // an answer for an older prefix is of no use any more
    if (!prefix.trim()) { closeSuggestions(); return; }
    const ctl = new AbortController();
    suggestAbort = ctl;
    let body;
    try { body = await api("/suggest", new URLSearchParams({ q: prefix, size: "6" }), ctl.signal); }
    catch (_) { return; }  // aborted, or failed: suggestions are a convenience, the search reports errors
    if (ctl.signal.aborted || seq !== suggestSeq || ui.q.value !== prefix) return;  // closed or overtaken meanwhile
    suggestAbort = null;
    const items = body.suggestions.map((s, i) => {
      const li = el("li", { id: `suggestion-${i}`, role: "option", "aria-selected": "false", text: s.text });
      li.addEventListener("mousedown", (ev) => { ev.preventDefault(); pick(s.text); });
      return li;
    });
    if (!items.length) { closeSuggestions(); return; }
    /* This answer may arrive after the shopper moved into the list shown for an earlier prefix:
       keep them on the same suggestion if the new list has it, so Enter picks what they see selected. */
    const current = activeOption >= 0 ? ui.suggestions.children[activeOption].textContent : null;
    ui.suggestions.replaceChildren(...items);
    ui.suggestions.dataset.prefix = prefix;  // which prefix the shown list answers
    ui.suggestions.hidden = false;
    ui.q.setAttribute("aria-expanded", "true");
    setActive(body.suggestions.findIndex((s) => s.text === current));
  }
  function moveActive(delta) {
    const options = ui.suggestions.children;
    if (ui.suggestions.hidden || !options.length) return;
    let next = activeOption + delta;  // -1: back in the input
    if (next < -1) next = options.length - 1;
    if (next >= options.length) next = -1;
    setActive(next);
  }
  function pick(text) {
    ui.q.value = text;
    closeSuggestions();
    clearTimeout(searchTimer);
    typing = false;
    commit({ ...state, q: text, product: null }, true);
    search(false);
  }

  let searchTimer = null;
  let suggestTimer = null;
  ui.q.addEventListener("input", () => {
    const text = ui.q.value;
    clearTimeout(suggestTimer);
    suggestTimer = setTimeout(() => suggest(text), SUGGEST_DEBOUNCE_MS);
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      commit({ ...state, q: text.trim(), product: null }, !typing);
      typing = true;
      search(false);
    }, SEARCH_DEBOUNCE_MS);
  });
  ui.q.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown") { ev.preventDefault(); moveActive(1); }
    else if (ev.key === "ArrowUp") { ev.preventDefault(); moveActive(-1); }
    else if (ev.key === "Escape" && !ui.suggestions.hidden) { ev.preventDefault(); closeSuggestions(); }  // keep the text
    else if (ev.key === "Enter" && activeOption >= 0) {
      ev.preventDefault();
      pick(ui.suggestions.children[activeOption].textContent);
    }
  });
  ui.q.addEventListener("blur", () => setTimeout(closeSuggestions, 0));
  ui.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearTimeout(searchTimer);
    clearTimeout(suggestTimer);
    suggestSeq++;
    closeSuggestions();
    typing = false;
    commit({ ...state, q: ui.q.value.trim(), product: null }, true);
    search(false);
    ui.results.focus();
  });
  ui.sort.addEventListener("change", () => update({ ...state, sort: ui.sort.value }));
  ui.more.addEventListener("click", () => search(true));

  // ------------------------------------------------------------------ product detail
  function productParams(id) { const p = toParams(state, false); p.set("product", id); return p.toString(); }
  function openProduct(id) { typing = false; commit({ ...state, product: id }, true); showProduct(); }
  async function showProduct() {
    const id = state.product;
    ui.detailBody.replaceChildren(el("h2", { id: "detail-title", text: "Loading…" }));
    if (!ui.detail.open) ui.detail.showModal();
    let p;
    try { p = await api(`/products/${encodeURIComponent(id)}`); }
    catch (e) {
      if (state.product !== id) return;
      ui.detailBody.replaceChildren(el("h2", { id: "detail-title", text: "Product unavailable" }), el("p", { text: explain(e) }));
      return;
    }
    if (state.product !== id) return;
    const c = p.content || {};
    const specs = Object.entries(c.specifications || {});
    const images = (c.images && c.images.length ? c.images : [p.image_url]).filter(Boolean);
    ui.detailBody.replaceChildren(
      el("h2", { id: "detail-title", text: p.title }),
      el("p", { class: "brandname", text: `${p.brand} · ${p.category}` }),
      el("p", { class: "price", text: money(p.price, p.currency) }),
      p.rating === null ? null : el("p", { class: "meta", text: `★ ${p.rating.toFixed(1)} (${integer(p.review_count || 0)} reviews)` }),
      el("p", { class: p.in_stock ? "stock-in" : "stock-out", text: p.in_stock ? "In stock" : "Out of stock" }),
      images.length ? el("div", { class: "img" }, el("img", { src: images[0], alt: p.title, width: 400, height: 300 })) : null,
      el("p", { text: p.description || "" }),
      c.long_description ? el("p", { class: "long", text: c.long_description }) : null,
      specs.length ? el("table", {}, el("caption", { text: "Specifications" }),
        el("tbody", {}, ...specs.map(([k, v]) => el("tr", {}, el("th", { scope: "row", text: k }), el("td", { text: String(v) }))))) : null,
      p.tags && p.tags.length ? el("p", { class: "meta", text: `Tags: ${p.tags.join(", ")}` }) : null);
    const img = ui.detailBody.querySelector("img");
    if (img) img.addEventListener("error", () => img.remove());
  }
  function closeProduct() { if (state.product) commit({ ...state, product: null }, true); }
  ui.detailClose.addEventListener("click", () => ui.detail.close());
  ui.detail.addEventListener("close", closeProduct);

  // ------------------------------------------------------------------ history
  function syncFromUrl() {
    state = readUrl(location.search);
    typing = false;
    ui.q.value = state.q;
    ui.sort.value = state.sort;
    closeSuggestions();
    search(false);
    if (state.product) showProduct();
    else if (ui.detail.open) { ui.detail.removeEventListener("close", closeProduct); ui.detail.close(); ui.detail.addEventListener("close", closeProduct); }
  }
  window.addEventListener("popstate", syncFromUrl);
  // phones: the filters start folded above the results; wider screens keep them open beside
  const narrow = window.matchMedia("(max-width: 720px)");
  const fold = () => { $("filters").open = !narrow.matches; };
  narrow.addEventListener("change", fold);
  fold();
  syncFromUrl();
})();
