// Knowledge base pages: the editor's live preview (rendered on the server, the same Markdown
// rendering as the article page) and the article's re-embedding state while it changes.
"use strict";

(() => {
  function editor(form) {
    const body = form.querySelector("#kb-body");
    const preview = form.querySelector("#kb-preview");
    const button = form.querySelector("#kb-preview-button");
    let timer = null;
    let seq = 0;

    async function refresh() {
      const mine = ++seq;
      const data = new URLSearchParams({ body: body.value });
      const response = await AutoCRM.request(form.dataset.previewUrl, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: data,
      });
      if (!response.ok || mine !== seq) return;
      // Safe: the server renders Markdown with raw HTML disabled (escaped), see kb_pages.py.
      preview.innerHTML = (await response.json()).html;
      preview.dataset.rendered = String(mine);
    }

    body.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(refresh, 400);
    });
    button.addEventListener("click", (event) => {
      event.preventDefault();
      refresh();
    });
  }

  function embedding(panel) {
    const explain = {
      embedded: "The chunks are of the current text.",
      queued: "Re-embedding is queued for the worker.",
      embedding: "The worker is re-embedding now.",
      stale: "The text changed since its chunks were made and no re-embedding is queued.",
      not_embedded: "Not in the search index yet.",
    };
    const badge = { embedded: "ok", queued: "warn", embedding: "ai", stale: "bad", not_embedded: "" };
    const field = (name) => panel.querySelector(`[data-field="${name}"]`);

    async function poll() {
      const response = await fetch(panel.dataset.stateUrl, { credentials: "same-origin" });
      if (!response.ok) return;
      const state = await response.json();
      panel.dataset.state = state.state;
      const el = field("state");
      el.textContent = state.state.replace("_", " ");
      el.className = `badge embed-state ${badge[state.state] || ""}`;
      field("chunks").textContent = state.chunks;
      field("vectors").textContent = state.vectors;
      field("explain").textContent = explain[state.state] || "";
      if (state.waiting) setTimeout(poll, 2000);
    }

    if (panel.dataset.waiting === "true") setTimeout(poll, 2000);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("kb-editor");
    if (form) editor(form);
    const panel = document.getElementById("kb-embedding");
    if (panel) embedding(panel);
  });
})();
