// The agent workspace: inbox keyboard navigation, the AI panel (a suggestion streamed from the JSON
// API into the draft), and forms that submit once. No inline code (the pages' CSP forbids it).
"use strict";

(() => {
  // Forms marked data-once: the first submit wins. The buttons are disabled only after this
  // submission has taken the pressed one's value. The server is idempotent too: this spares a trip.
  function submitOnce(form) {
    form.addEventListener("submit", (event) => {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      setTimeout(() => form.querySelectorAll("button").forEach((b) => { b.disabled = true; }), 0);
    });
  }

  // Inbox: j/k move the selection (the buttons carry the shortcuts), o or Enter opens it.
  function inbox() {
    const rows = [...document.querySelectorAll("#inbox-table tr.ws-row")];
    if (!rows.length) return;
    let current = -1;
    const select = (i) => {
      if (current >= 0) rows[current].classList.remove("selected");
      current = Math.max(0, Math.min(rows.length - 1, i));
      const row = rows[current];
      row.classList.add("selected");
      row.querySelector("a").focus({ preventScroll: true });
      row.scrollIntoView({ block: "nearest" });
    };
    document.querySelectorAll("[data-inbox-move]").forEach((b) => b.addEventListener("click", () => {
      select(current < 0 ? 0 : current + Number(b.dataset.inboxMove));
    }));
    document.querySelectorAll("[data-inbox-open]").forEach((b) => b.addEventListener("click", () => {
      if (current >= 0) window.location.href = rows[current].dataset.href;
    }));
    rows.forEach((row, i) => row.addEventListener("click", (event) => {
      if (event.target.closest("a")) return;
      select(i);
    }));
  }

  // The AI panel.
  function aiPanel() {
    const panel = document.getElementById("ai");
    if (!panel) return;
    const draft = document.getElementById("draft");
    const responseId = document.getElementById("ai-response-id");
    const status = document.getElementById("ai-status");
    const facts = document.getElementById("ai-facts");
    const citations = document.getElementById("citations");
    const suggest = document.getElementById("suggest");
    const asIs = document.getElementById("send-as-is");
    const edited = document.getElementById("send-edited");
    const discard = document.getElementById("discard-draft");
    const discardBox = document.getElementById("discard-box");
    let original = draft.value;

    const badge = (text, cls, id) => {
      const span = document.createElement("span");
      span.className = `badge ${cls || ""}`.trim();
      if (id) span.id = id;
      span.textContent = text;
      return span;
    };
    const sync = () => {
      const ready = Boolean(responseId.value) && panel.dataset.state !== "streaming";
      const changed = draft.value.trim() !== original.trim();
      asIs.disabled = !ready || changed || !original.trim();
      edited.disabled = !ready || !changed || !draft.value.trim();
      discard.disabled = !ready;
    };
    draft.addEventListener("input", sync);
    sync();

    document.getElementById("edit-draft").addEventListener("click", () => {
      if (!responseId.value) return;
      draft.readOnly = false;
      draft.focus();
      draft.setSelectionRange(draft.value.length, draft.value.length);
    });
    discard.addEventListener("click", () => {
      discardBox.hidden = false;
      document.getElementById("discard-reason").focus();
    });

    suggest.addEventListener("click", async () => {
      if (panel.dataset.state === "streaming") return;
      panel.dataset.state = "streaming";
      suggest.disabled = true;
      responseId.value = "";
      draft.readOnly = true;
      draft.value = "";
      original = "";
      facts.replaceChildren();
      citations.replaceChildren();
      discardBox.hidden = true;
      status.textContent = "Retrieving and drafting…";
      sync();
      const started = performance.now();
      let first = null;
      try {
        await AutoCRM.postEvents(`/tickets/${panel.dataset.ticketId}/suggestions?stream=true`, undefined,
          (name, data) => {
            if (name === "token" || name === "text") {
              if (first === null) {
                first = performance.now() - started;
                panel.dataset.firstTokenMs = first.toFixed(0);
                status.textContent = "Writing…";
              }
              draft.value += data.text;
              draft.scrollTop = draft.scrollHeight;
            } else if (name === "done") {
              showSuggestion(data);
            } else if (name === "error") {
              throw new Error(data.detail || data.title || "the suggestion failed");
            }
          });
      } catch (error) {
        panel.dataset.state = "error";
        status.textContent = `Could not get a suggestion: ${error.message}`;
      } finally {
        suggest.disabled = false;
        sync();
      }
    });

    function showSuggestion(s) {
      draft.value = s.draft;
      original = s.draft;
      responseId.value = s.ai_response_id;
      panel.dataset.state = "draft";
      facts.replaceChildren(
        badge(`confidence ${Number(s.confidence).toFixed(2)}`, "", "ai-confidence"),
        badge(s.decision, s.decision === "escalated" ? "warn" : "ai", "ai-decision"),
      );
      if (s.handoff_reason) {
        facts.appendChild(badge(`hand-off: ${s.handoff_reason.replaceAll("_", " ")}`, "warn", "ai-handoff"));
      }
      if (s.held_back) {
        facts.appendChild(badge(`held back: ${s.held_back.replaceAll("_", " ")}`, "", "ai-held-back"));
      }
      citations.replaceChildren(...s.citations.map((c) => {
        const li = document.createElement("li");
        const a = document.createElement("a");
        a.href = `/app/kb/${encodeURIComponent(c.article_id)}`;
        a.textContent = `[${c.index}] ${c.title}`;
        li.appendChild(a);
        return li;
      }));
      const ms = s.latency_ms && s.latency_ms.total ? ` in ${Math.round(s.latency_ms.total)} ms` : "";
      status.textContent = s.draft
        ? `Suggestion ready${ms}. a: send as is · e: edit · d: discard`
        : `No published article answers this${ms}: write the reply yourself (n), or add an article.`;
      sync();
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form[data-once]").forEach(submitOnce);
    inbox();
    aiPanel();
  });
})();
