// The web shell's few behaviours; every page works without them.
(() => {
  "use strict";

  function closeMenu(toggle) {
    document.body.classList.remove("menu-open");
    toggle.setAttribute("aria-expanded", "false");
  }

  document.addEventListener("DOMContentLoaded", () => {
    const toggle = document.querySelector("[data-menu-toggle]");
    if (toggle) {
      toggle.addEventListener("click", () => {
        const open = document.body.classList.toggle("menu-open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
        if (open) {
          const first = document.querySelector("#sidebar a");
          if (first) first.focus();
        }
      });
      document.addEventListener("keydown", (event) => {
        if (event.key === "Escape" && document.body.classList.contains("menu-open")) {
          closeMenu(toggle);
          toggle.focus();
        }
      });
    }

    // The account menu closes on Escape or a click elsewhere, like any menu.
    const account = document.querySelector("details.account");
    if (account) {
      document.addEventListener("click", (event) => {
        if (account.open && !account.contains(event.target)) account.open = false;
      });
      account.addEventListener("keydown", (event) => {
        if (event.key === "Escape" && account.open) {
          account.open = false;
          account.querySelector("summary").focus();
        }
      });
    }

    // A new API token's secret is selected when focused, ready to copy.
    for (const input of document.querySelectorAll("[data-select-on-focus]")) {
      input.addEventListener("focus", () => input.select());
    }
  });
})();
