// Table editors: "Add a row" clones the formset's empty row. Without JavaScript the
// blank rows the server renders do the same job, so the button stays hidden then.
(() => {
  "use strict";

  function addRow(name) {
    const template = document.querySelector(`template[data-empty-row="${name}"]`);
    const total = document.querySelector(`input[name="${name}-TOTAL_FORMS"]`);
    const container = template && template.parentElement.querySelector("[data-rows]");
    if (!template || !total || !container) return;
    const index = Number(total.value);
    const html = template.innerHTML.replaceAll("__prefix__", String(index));
    const holder = document.createElement(container.tagName === "TBODY" ? "tbody" : "div");
    holder.innerHTML = html.trim();
    const row = holder.firstElementChild;
    container.appendChild(row);
    total.value = String(index + 1);
    const first = row.querySelector("input:not([type=hidden]), select");
    if (first) first.focus();
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const button of document.querySelectorAll("[data-add-row]")) {
      button.hidden = false;
      button.addEventListener("click", () => addRow(button.dataset.addRow));
    }
    const errors = document.getElementById("editor-errors");
    if (errors) errors.focus();
  });
})();
