// FAQ editor pages: a confirmation before changes that are hard to notice, and a "today" button
// for the review date. Wired by data attributes: the Content-Security-Policy forbids inline scripts.
"use strict";

function localToday() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  for (const button of document.querySelectorAll("button[data-today]")) {
    button.addEventListener("click", () => {
      document.getElementById(button.dataset.today).value = localToday();
    });
  }
});
