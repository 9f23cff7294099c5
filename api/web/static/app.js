// AutoCRM pages: a little JavaScript, no framework, no build step.
"use strict";

const AutoCRM = (() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  // fetch() with the session cookie and the CSRF token every unsafe request needs.
  function request(url, options = {}) {
    const headers = new Headers(options.headers || {});
    headers.set("X-CSRF-Token", csrf());
    return fetch(url, { credentials: "same-origin", ...options, headers });
  }

  // Server-sent events from a POST (EventSource only does GET): calls onEvent(name, data).
  async function postEvents(url, body, onEvent) {
    const response = await request(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok || !response.body) {
      let detail = response.statusText;
      try { detail = (await response.json()).detail || detail; } catch (_) { /* not JSON */ }
      throw new Error(detail);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let name = "message";
        const data = [];
        for (const line of frame.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
        }
        if (data.length) onEvent(name, JSON.parse(data.join("\n")));
      }
    }
  }

  // Keyboard shortcuts: an element with data-shortcut="e" is clicked (a field: focused) on "e",
  // unless the user is typing; "?" lists them.
  function shortcuts() {
    document.addEventListener("keydown", (event) => {
      const target = event.target;
      const typing = target.closest && target.closest("input, textarea, select, [contenteditable]");
      if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.key === "?") {
        const list = [...document.querySelectorAll("[data-shortcut]")]
          .map((el) => `${el.dataset.shortcut}  ${el.title || el.textContent.trim()}`);
        if (list.length) alert(list.join("\n"));
        return;
      }
      const el = document.querySelector(`[data-shortcut="${CSS.escape(event.key)}"]`);
      if (!el) return;
      event.preventDefault();
      if (el.matches("input, textarea, select")) el.focus();
      else el.click();
    });
  }

  document.addEventListener("DOMContentLoaded", shortcuts);
  return { request, postEvents, csrf };
})();
