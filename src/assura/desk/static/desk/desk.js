// The desk's live parts; every page works without them.
//
// SLA countdowns: each running clock carries the instants the server computed (due,
// warning, breach) as ISO strings. Once a second the text counts to the due instant and
// the clock (and its row) turns "at risk" or "breached" when those instants pass, so the
// queue shows a breach the moment it happens without asking the server. The page also
// carries the server's time, so a browser whose clock is wrong still counts right.
//
// Bulk selection: "select all" and a count of the selected cases.
(() => {
  "use strict";

  const SEVERITY = { "": 0, running: 0, paused: 0, met: 0, late: 0, cancelled: 0, at_risk: 1, breached: 2 };
  let words = {};
  let offset = 0; // server time minus this browser's time, in ms

  function pad(number) {
    return String(number).padStart(2, "0");
  }

  function span(seconds) {
    const total = Math.floor(Math.abs(seconds));
    const days = Math.floor(total / 86400);
    const hours = Math.floor((total % 86400) / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const secs = total % 60;
    if (days) return `${days} ${words.d} ${hours} ${words.h}`;
    if (hours) return `${hours} ${words.h} ${pad(minutes)} ${words.min}`;
    return `${minutes} ${words.min} ${pad(secs)} ${words.s}`;
  }

  function instant(value) {
    return value ? Date.parse(value) : NaN;
  }

  function stateAt(clock, now) {
    const initial = clock.dataset.clockState || "running";
    if (SEVERITY[initial] === 2) return initial;
    if (now >= instant(clock.dataset.breaches)) return "breached";
    if (now >= instant(clock.dataset.warning)) return "at_risk";
    return initial;
  }

  function tick() {
    const now = Date.now() + offset;
    for (const clock of document.querySelectorAll("[data-due]")) {
      const left = (instant(clock.dataset.due) - now) / 1000;
      const out = clock.querySelector("[data-countdown]");
      if (out) out.textContent = (left >= 0 ? words.left : words.overdue).replace("%s", span(left));
      const state = stateAt(clock, now);
      if (state !== clock.dataset.clockState) {
        clock.dataset.clockState = state;
        const label = clock.querySelector("[data-state-label]");
        if (label && words[state]) label.textContent = words[state];
      }
    }
    for (const row of document.querySelectorAll("[data-sla-row]")) {
      let worst = "";
      for (const clock of row.querySelectorAll("[data-clock-state]")) {
        const state = clock.dataset.clockState;
        if ((SEVERITY[state] || 0) > (SEVERITY[worst] || 0)) worst = state;
      }
      if (worst !== row.dataset.slaState) {
        row.dataset.slaState = worst;
        const badge = row.querySelector("[data-row-badge]");
        if (badge) {
          badge.hidden = !worst;
          badge.textContent = words[worst] || "";
        }
      }
    }
  }

  function syncServerTime() {
    const holder = document.querySelector("[data-server-now]");
    const server = holder ? Date.parse(holder.dataset.serverNow) : NaN;
    if (!Number.isNaN(server)) offset = server - Date.now();
  }

  function setUpBulk() {
    const form = document.querySelector("[data-bulk]");
    if (!form) return;
    const all = form.querySelector("[data-select-all]");
    const count = form.querySelector("[data-selected-count]");
    const boxes = () => form.querySelectorAll("input[name='cases']");
    const hint = count ? count.textContent : "";
    const bar = form.querySelector(".bulk-bar");
    const update = () => {
      const chosen = [...boxes()].filter((box) => box.checked).length;
      if (bar) bar.toggleAttribute("data-active", chosen > 0);
      if (count) count.textContent = chosen ? (words.selected || "%s").replace("%s", chosen) : hint;
      if (all) {
        all.checked = chosen > 0 && chosen === boxes().length;
        all.indeterminate = chosen > 0 && chosen < boxes().length;
      }
    };
    if (all) {
      all.addEventListener("change", () => {
        for (const box of boxes()) box.checked = all.checked;
        update();
      });
    }
    form.addEventListener("change", (event) => {
      if (event.target.name === "cases") update();
    });
    update(); // boxes a browser restored on going back
  }

  document.addEventListener("DOMContentLoaded", () => {
    const source = document.getElementById("desk-words");
    words = source ? JSON.parse(source.textContent) : {};
    syncServerTime();
    tick();
    setInterval(tick, 1000);
    setUpBulk();
    // Parts replaced by htmx bring the server's time of their rendering. After an action
    // the keyboard goes on from its outcome: the first field in error, else the message.
    document.body.addEventListener("htmx:afterSettle", (event) => {
      syncServerTime();
      tick();
      const body = event.detail && event.detail.elt;
      if (!body || body.id !== "case-body") return;
      const invalid = body.querySelector(".invalid input, .invalid select, .invalid textarea");
      const flash = body.querySelector("[data-testid='flash']");
      if (invalid) {
        invalid.focus();
      } else if (flash) {
        flash.setAttribute("tabindex", "-1");
        flash.focus({ preventScroll: false });
      }
    });
  });
})();
